-- The constraints in their earlier words (0001_ledger, 0006_perf_space_layout,
-- 0016_posting_archive). Like every rollback from 0010_release_history on, it refuses as the
-- first step of a plain partial rollback (see 0010's rollback).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '600s';

DO $$
BEGIN
    IF coalesce(current_setting('pgbalance.rollback', true), '') <> 'on'
       AND to_regprocedure('ledger.transfer(text, text, text, text, bigint, jsonb)') IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = 'a partial rollback would leave the pgbalance functions broken',
            DETAIL = 'migration=0018_check_constants',
            HINT = 'Use `pgbalance migrate --to VERSION` (rolls back and installs that release''s functions) or `pgbalance migrate --rollback-all --yes`.';
    END IF;
END
$$;

-- The rule comes back under its name in the next statement, in this transaction.
-- squawk-ignore ban-drop-constraint
ALTER TABLE ledger.entry DROP CONSTRAINT entry_status_known;
-- Checked at once: a rollback is rare, and the scan runs under the lock the DROP took.
-- squawk-ignore constraint-missing-not-valid
ALTER TABLE ledger.entry ADD CONSTRAINT entry_status_known CHECK (status IN ('posted', 'pending', 'voided', 'reversed'));
-- Likewise.
-- squawk-ignore ban-drop-constraint
ALTER TABLE ledger.posting DROP CONSTRAINT posting_kind_known;
-- Likewise.
-- squawk-ignore constraint-missing-not-valid
ALTER TABLE ledger.posting ADD CONSTRAINT posting_kind_known CHECK (kind IN ('B', 'O', 'I'));
-- Likewise.
-- squawk-ignore ban-drop-constraint
ALTER TABLE ledger.posting_archive DROP CONSTRAINT posting_archive_kind_known;
-- Likewise.
-- squawk-ignore constraint-missing-not-valid
ALTER TABLE ledger.posting_archive ADD CONSTRAINT posting_archive_kind_known CHECK (kind IN ('B', 'O', 'I'));
