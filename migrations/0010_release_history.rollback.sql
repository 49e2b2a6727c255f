-- Rolling migrations back one by one (a plain `yoyo rollback`) leaves the functions of sql/
-- in place, and they use what the rolled-back migrations made: the API breaks. So this
-- rollback, the first of any partial rollback from this release on, refuses unless
-- pgbalance itself runs it (`pgbalance migrate --to VERSION` or `--rollback-all --yes` set
-- pgbalance.rollback), or no sql/ object is installed.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

DO $$
BEGIN
    IF coalesce(current_setting('pgbalance.rollback', true), '') <> 'on'
       AND to_regprocedure('ledger.transfer(text, text, text, text, bigint, jsonb)') IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = 'a partial rollback would leave the pgbalance functions broken',
            DETAIL = 'migration=0010_release_history',
            HINT = 'Use `pgbalance migrate --to VERSION` (rolls back and installs that release''s functions) or `pgbalance migrate --rollback-all --yes`.';
    END IF;
END
$$;
-- Undoing 0010_release_history is what this rollback is for: the rows only name releases.
-- squawk-ignore ban-drop-table
DROP TABLE ledger.release_history;
