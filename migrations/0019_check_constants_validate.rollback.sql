-- Back to the constraints as 0018_check_constants leaves them, NOT VALID: a checked
-- constraint cannot be marked unchecked, so each is swapped for itself. Like every rollback
-- from 0010_release_history on, it refuses as the first step of a plain partial rollback.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

DO $$
BEGIN
    IF coalesce(current_setting('pgbalance.rollback', true), '') <> 'on'
       AND to_regprocedure('ledger.transfer(text, text, text, text, bigint, jsonb)') IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = 'a partial rollback would leave the pgbalance functions broken',
            DETAIL = 'migration=0019_check_constants_validate',
            HINT = 'Use `pgbalance migrate --to VERSION` (rolls back and installs that release''s functions) or `pgbalance migrate --rollback-all --yes`.';
    END IF;
END
$$;

-- The rule comes back under its name in the next statement, in this transaction.
-- squawk-ignore ban-drop-constraint
ALTER TABLE ledger.entry DROP CONSTRAINT entry_status_known;
ALTER TABLE ledger.entry ADD CONSTRAINT entry_status_known CHECK (status = ANY ('{posted,pending,voided,reversed}'::text[])) NOT VALID;
-- Likewise.
-- squawk-ignore ban-drop-constraint
ALTER TABLE ledger.posting DROP CONSTRAINT posting_kind_known;
ALTER TABLE ledger.posting ADD CONSTRAINT posting_kind_known CHECK (kind = ANY ('{B,O,I}'::"char"[])) NOT VALID;
-- Likewise.
-- squawk-ignore ban-drop-constraint
ALTER TABLE ledger.posting_archive DROP CONSTRAINT posting_archive_kind_known;
ALTER TABLE ledger.posting_archive ADD CONSTRAINT posting_archive_kind_known CHECK (kind = ANY ('{B,O,I}'::"char"[])) NOT VALID;
