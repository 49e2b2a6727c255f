-- The change feed's record of status changes (capture, void, expiry, full reversal): a row
-- per changed entry, in the changing transaction, so it commits or rolls back with the
-- change. Row-level because Citus cannot read a transition table in a statement that writes
-- a distributed table; only the cold paths update a status, so a transfer never fires it.
-- changed_xid comes from the column's DEFAULT (the top-level transaction, as created_xid).
CREATE OR REPLACE FUNCTION ledger._record_status_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- Taken into a variable: no volatile call inside an INSERT on a distributed table.
    v_now timestamptz := clock_timestamp();
BEGIN
    INSERT INTO ledger.entry_status_change (tenant_id, entry_id, status, previous_status, changed_at)
    VALUES (NEW.tenant_id, NEW.entry_id, NEW.status, OLD.status, v_now);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._record_status_change() IS
    'Private trigger: records an entry''s status change in ledger.entry_status_change for ledger.changes.';

CREATE OR REPLACE TRIGGER record_status_change
    AFTER UPDATE OF status ON ledger.entry
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION ledger._record_status_change();
COMMENT ON TRIGGER record_status_change ON ledger.entry IS
    'Every status change of an entry gets a row in ledger.entry_status_change (the change feed).';
