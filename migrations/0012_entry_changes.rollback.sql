-- Fail fast rather than queue behind a long transaction while holding locks (see .squawk.toml).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '600s';

-- The sql/ objects of the change feed read or write what goes below (pgbalance migrate puts
-- them back with the migration). ledger.changes goes with the feed it reads.
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS ledger.changes(text, text, integer);
-- Its private helper, called by nothing else.
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS ledger._changes_snapshot(text);
DROP TRIGGER IF EXISTS record_status_change ON ledger.entry;
DROP TRIGGER IF EXISTS guard_entry_created_xid ON ledger.entry;
-- The trigger function of record_status_change, dropped just above.
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS ledger._record_status_change();
-- Undoing 0012_entry_changes is what this rollback is for: the feed's rows go with it.
-- squawk-ignore ban-drop-table
DROP TABLE ledger.entry_status_change;
-- Likewise (its index goes with it).
-- squawk-ignore ban-drop-column
ALTER TABLE ledger.entry DROP COLUMN created_xid;
