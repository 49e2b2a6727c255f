CREATE OR REPLACE FUNCTION ledger._guard_history()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- A failed item of a non-atomic batch discards the entry row it claimed (it has no
    -- postings: the posting FK refuses the delete otherwise).
    IF TG_TABLE_NAME = 'entry' AND TG_OP = 'DELETE'
       AND current_setting('pgbalance.discarding', true) = 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM ledger._raise('PB009', format('ledger history is immutable: %s on ledger.%s', TG_OP, TG_TABLE_NAME),
        format('operation=%s table=ledger.%s', TG_OP, TG_TABLE_NAME),
        'Correct a movement with ledger.reverse; history is append-only.');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._guard_history() IS
    'Private trigger: raises PB009 on UPDATE/DELETE/TRUNCATE of postings and status changes, and DELETE/TRUNCATE of entries.';

-- Statement-level so they fire on empty tables and on TRUNCATE too.
CREATE OR REPLACE TRIGGER guard_posting_history
    BEFORE UPDATE OR DELETE ON ledger.posting
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history();
CREATE OR REPLACE TRIGGER guard_posting_truncate
    BEFORE TRUNCATE ON ledger.posting
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history();
CREATE OR REPLACE TRIGGER guard_entry_history
    BEFORE DELETE ON ledger.entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history();
CREATE OR REPLACE TRIGGER guard_entry_truncate
    BEFORE TRUNCATE ON ledger.entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history();
CREATE OR REPLACE TRIGGER guard_status_change_history
    BEFORE UPDATE OR DELETE ON ledger.entry_status_change
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history();
CREATE OR REPLACE TRIGGER guard_status_change_truncate
    BEFORE TRUNCATE ON ledger.entry_status_change
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history();
COMMENT ON TRIGGER guard_posting_history ON ledger.posting IS 'Postings are append-only (PB009).';
COMMENT ON TRIGGER guard_posting_truncate ON ledger.posting IS 'Postings are append-only (PB009).';
COMMENT ON TRIGGER guard_entry_history ON ledger.entry IS 'Entries are never deleted (PB009).';
COMMENT ON TRIGGER guard_entry_truncate ON ledger.entry IS 'Entries are never deleted (PB009).';
COMMENT ON TRIGGER guard_status_change_history ON ledger.entry_status_change IS 'Status changes are append-only (PB009).';
COMMENT ON TRIGGER guard_status_change_truncate ON ledger.entry_status_change IS 'Status changes are append-only (PB009).';
