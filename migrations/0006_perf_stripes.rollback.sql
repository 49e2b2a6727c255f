-- Folding stripes back into account rows would be a balance change outside the posting
-- trigger, so this rollback refuses to run while any stripe holds an amount.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

DO $$
BEGIN
    IF EXISTS (SELECT FROM ledger.account_stripe
                WHERE balance <> 0 OR pending_out <> 0 OR pending_in <> 0) THEN
        RAISE EXCEPTION 'ledger.account_stripe holds amounts: rolling back 0006_perf_stripes would lose them';
    END IF;
END
$$;
-- Undoing 0006_perf_stripes is what this rollback is for; the check above keeps every amount.
-- squawk-ignore ban-drop-table
DROP TABLE ledger.account_stripe;
-- The constraint and column exist only for striping, which goes with this rollback.
-- squawk-ignore ban-drop-constraint
ALTER TABLE ledger.account DROP CONSTRAINT account_stripes_unbounded;
-- Likewise the column: every stripe amount is zero, checked above.
-- squawk-ignore ban-drop-column
ALTER TABLE ledger.account DROP COLUMN stripes;
