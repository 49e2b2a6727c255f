CREATE OR REPLACE FUNCTION ledger._guard_history()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- The table comes as the trigger's argument, not TG_TABLE_NAME: on Citus the trigger
    -- fires on shards (ledger.entry_102069).
    -- A failed item of a non-atomic batch discards the entry row it claimed (it has no
    -- postings: the posting FK refuses the delete otherwise).
    IF TG_ARGV[0] = 'entry' AND TG_OP = 'DELETE'
       AND current_setting('pgbalance.discarding', true) = 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM ledger._raise('PB009', format('ledger history is immutable: %s on ledger.%s', TG_OP, TG_ARGV[0]),
        format('operation=%s table=ledger.%s', TG_OP, TG_ARGV[0]),
        'Correct a movement with ledger.reverse; history is append-only.');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._guard_history() IS
    'Private trigger: raises PB009 on UPDATE/DELETE/TRUNCATE of postings and DELETE/TRUNCATE of entries.';

-- Statement-level so they fire on empty tables and on TRUNCATE too.
CREATE OR REPLACE TRIGGER guard_posting_history
    BEFORE UPDATE OR DELETE ON ledger.posting
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history('posting');
CREATE OR REPLACE TRIGGER guard_posting_truncate
    BEFORE TRUNCATE ON ledger.posting
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history('posting');
CREATE OR REPLACE TRIGGER guard_entry_history
    BEFORE DELETE ON ledger.entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history('entry');
CREATE OR REPLACE TRIGGER guard_entry_truncate
    BEFORE TRUNCATE ON ledger.entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history('entry');
COMMENT ON TRIGGER guard_posting_history ON ledger.posting IS 'Postings are append-only (PB009).';
COMMENT ON TRIGGER guard_posting_truncate ON ledger.posting IS 'Postings are append-only (PB009).';
COMMENT ON TRIGGER guard_entry_history ON ledger.entry IS 'Entries are never deleted (PB009).';
COMMENT ON TRIGGER guard_entry_truncate ON ledger.entry IS 'Entries are never deleted (PB009).';
