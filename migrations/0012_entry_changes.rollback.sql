-- The first of any partial rollback refuses unless pgbalance runs it (as 0010_release_history's
-- does, and for the same reason: a plain `yoyo rollback` would leave the sql/ functions
-- using what it removes).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '600s';

DO $$
BEGIN
    IF coalesce(current_setting('pgbalance.rollback', true), '') <> 'on'
       AND to_regprocedure('ledger.transfer(text, text, text, text, bigint, jsonb)') IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = 'a partial rollback would leave the pgbalance functions broken',
            DETAIL = 'migration=0012_entry_changes',
            HINT = 'Use `pgbalance migrate --to VERSION` (rolls back and installs that release''s functions) or `pgbalance migrate --rollback-all --yes`.';
    END IF;
END
$$;

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
