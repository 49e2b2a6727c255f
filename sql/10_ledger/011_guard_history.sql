-- The guarded table's name is the trigger's argument: a table's own name is not reliable
-- (Citus runs the trigger on shards named entry_102069).
CREATE OR REPLACE FUNCTION ledger._guard_history()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- A failed item of a non-atomic batch discards the entry row it claimed (ledger._move);
    -- guard_entry_discard refuses that for any entry that has postings.
    IF TG_ARGV[0] = 'entry' AND TG_OP = 'DELETE'
       AND current_setting('pgbalance.discarding', true) = 'on' THEN
        RETURN NULL;
    END IF;
    -- ledger.archive moves sealed postings to ledger.posting_archive; guard_posting_archived
    -- then lets a row go only if the identical row is archived.
    IF TG_ARGV[0] = 'posting' AND TG_OP = 'DELETE'
       AND current_setting('pgbalance.archiving', true) = 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM ledger._raise('PB009', format('ledger history is immutable: %s on ledger.%s', TG_OP, TG_ARGV[0]),
        format('operation=%s table=ledger.%s', TG_OP, TG_ARGV[0]),
        'Correct a movement with ledger.reverse; history is append-only.');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._guard_history() IS
    'Private trigger: raises PB009 on UPDATE/DELETE/TRUNCATE of postings and status changes, and DELETE/TRUNCATE of entries (the table named by the trigger argument).';

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
CREATE OR REPLACE TRIGGER guard_status_change_history
    BEFORE UPDATE OR DELETE ON ledger.entry_status_change
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history('entry_status_change');
CREATE OR REPLACE TRIGGER guard_status_change_truncate
    BEFORE TRUNCATE ON ledger.entry_status_change
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history('entry_status_change');
COMMENT ON TRIGGER guard_posting_history ON ledger.posting IS 'Postings are append-only (PB009).';
COMMENT ON TRIGGER guard_posting_truncate ON ledger.posting IS 'Postings are append-only (PB009).';
COMMENT ON TRIGGER guard_entry_history ON ledger.entry IS 'Entries are never deleted (PB009).';
COMMENT ON TRIGGER guard_entry_truncate ON ledger.entry IS 'Entries are never deleted (PB009).';
COMMENT ON TRIGGER guard_status_change_history ON ledger.entry_status_change IS 'Status changes are append-only (PB009).';
COMMENT ON TRIGGER guard_status_change_truncate ON ledger.entry_status_change IS 'Status changes are append-only (PB009).';

-- Only rows that get past guard_entry_history (the discard of a failed batch item) reach
-- this: an entry with postings is never deleted, whatever the marker says.
CREATE OR REPLACE FUNCTION ledger._guard_entry_discard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT FROM ledger.posting AS p
                WHERE p.tenant_id = OLD.tenant_id AND p.entry_id = OLD.entry_id) THEN
        PERFORM ledger._raise('PB009', 'ledger history is immutable: an entry with postings is never deleted',
            format('operation=DELETE table=ledger.entry entry_id=%s', OLD.entry_id),
            'Correct a movement with ledger.reverse; history is append-only.');
    END IF;
    RETURN OLD;
END
$$;
COMMENT ON FUNCTION ledger._guard_entry_discard() IS
    'Private trigger: raises PB009 when an entry that has postings would be deleted.';
CREATE OR REPLACE TRIGGER guard_entry_discard
    BEFORE DELETE ON ledger.entry
    FOR EACH ROW EXECUTE FUNCTION ledger._guard_entry_discard();
COMMENT ON TRIGGER guard_entry_discard ON ledger.entry IS 'An entry with postings is never deleted (PB009).';
