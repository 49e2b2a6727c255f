-- The change feed (ledger.changes) trusts an entry's created_xid: nothing may rewrite it.
-- A separate trigger (not guard_entry_update's WHEN) so that rolling back migration
-- 0012_entry_changes can drop it with the column and leave the identity guard in place.
CREATE OR REPLACE TRIGGER guard_entry_created_xid
    BEFORE UPDATE OF created_xid ON ledger.entry
    FOR EACH ROW
    WHEN (OLD.created_xid IS DISTINCT FROM NEW.created_xid)
    EXECUTE FUNCTION ledger._guard_entry_update();
COMMENT ON TRIGGER guard_entry_created_xid ON ledger.entry IS
    'An entry''s creating transaction never changes (PB009): the change feed reads it.';
