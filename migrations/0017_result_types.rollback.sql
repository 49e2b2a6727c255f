-- The result types go, with the functions returning them: `pgbalance migrate --to VERSION`
-- then installs that release's functions (RETURNS TABLE). Like every rollback from
-- 0010_release_history on, it refuses as the first step of a plain partial rollback.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

DO $$
BEGIN
    IF coalesce(current_setting('pgbalance.rollback', true), '') <> 'on'
       AND to_regprocedure('ledger.transfer(text, text, text, text, bigint, jsonb)') IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = 'a partial rollback would leave the pgbalance functions broken',
            DETAIL = 'migration=0017_result_types',
            HINT = 'Use `pgbalance migrate --to VERSION` (rolls back and installs that release''s functions) or `pgbalance migrate --rollback-all --yes`.';
    END IF;
END
$$;

-- Every function that returns one of the types (the types cannot go before them). Without
-- CASCADE: an object of someone else's that uses one makes the rollback fail, naming it.
DO $$
DECLARE
    v_fn regprocedure;
BEGIN
    FOR v_fn IN
        SELECT p.oid::regprocedure FROM pg_catalog.pg_proc AS p
         WHERE p.prorettype = ANY (ARRAY[
               'ledger.account_result', 'ledger.movement_result', 'ledger.verify_result',
               'ledger.seal_result', 'wallet.wallet_result', 'wallet.tx_result',
               'booking.booking_result', 'fees.load_result', 'tuition.payment_result',
               'tuition.term_result']::regtype[])
    LOOP
        EXECUTE format('DROP FUNCTION %s', v_fn);
    END LOOP;
END
$$;

-- Undoing 0017 is what this rollback is for; the functions that returned them went above.
-- squawk-ignore ban-drop-type
DROP TYPE tuition.term_result, tuition.payment_result, fees.load_result, booking.booking_result,
    wallet.tx_result, wallet.wallet_result, ledger.seal_result, ledger.verify_result,
    ledger.movement_result, ledger.account_result;
