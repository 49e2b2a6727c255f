-- The newest migration's rollback refuses unless pgbalance runs it (as 0010_release_history's
-- does, and for the same reason: a plain `yoyo rollback` would leave the sql/ functions
-- reading what it removes). Archived postings are history: it refuses while there are any.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '600s';

DO $$
BEGIN
    IF coalesce(current_setting('pgbalance.rollback', true), '') <> 'on'
       AND to_regprocedure('ledger.transfer(text, text, text, text, bigint, jsonb)') IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = 'a partial rollback would leave the pgbalance functions broken',
            DETAIL = 'migration=0016_posting_archive',
            HINT = 'Use `pgbalance migrate --to VERSION` (rolls back and installs that release''s functions) or `pgbalance migrate --rollback-all --yes`.';
    END IF;
    IF EXISTS (SELECT FROM ledger.posting_archive) THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = 'archived postings would be lost',
            DETAIL = 'migration=0016_posting_archive',
            HINT = 'Restore a backup taken before the first ledger.archive instead.';
    END IF;
END
$$;

-- The sql/ objects that read or guard these tables go first (pgbalance migrate puts back
-- the release's own functions).
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS ledger.archive(text, bigint);
DROP TRIGGER IF EXISTS guard_posting_archive_history ON ledger.posting_archive;
DROP TRIGGER IF EXISTS guard_posting_archive_truncate ON ledger.posting_archive;
DROP TRIGGER IF EXISTS guard_posting_archive_insert ON ledger.posting_archive;
DROP TRIGGER IF EXISTS guard_posting_archived ON ledger.posting;
-- The trigger function of the triggers dropped just above.
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS ledger._guard_archive();
-- Empty (checked above).
-- squawk-ignore ban-drop-table
DROP TABLE ledger.archived;
-- Empty (checked above).
-- squawk-ignore ban-drop-table
DROP TABLE ledger.posting_archive;
