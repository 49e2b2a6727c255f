-- depends: 0014_tenant_grant_role_id
-- Each row shape the functions return is declared once, as a composite type (as pgmq declares
-- message_record), and the functions that return it say RETURNS SETOF <type>: the columns,
-- their names and types are those the functions returned as RETURNS TABLE (...), so callers
-- see the same rows. Types live here, not in sql/: functions depend on them, so they change
-- only with a migration (sql/ re-creates the functions with CREATE OR REPLACE, which cannot
-- change a function's result type).
--
-- The functions returning these shapes are dropped below; `pgbalance migrate` re-creates them
-- from sql/ right after the migrations (with their comments, grants and owner; on Citus,
-- delegated again by distribute.py), so between the two steps they do not exist.

-- Fail fast rather than queue behind a long transaction while holding locks (see .squawk.toml).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- By name, every overload: the signatures are those of whichever release's sql/ is installed
-- (none on a database that has only the migrations). Without CASCADE: an object of someone
-- else's that uses one of them makes the migration fail, naming it, instead of vanishing.
DO $$
DECLARE
    v_fn regprocedure;
BEGIN
    FOR v_fn IN
        SELECT p.oid::regprocedure FROM pg_catalog.pg_proc AS p
         WHERE p.pronamespace::regnamespace::text || '.' || p.proname = ANY (ARRAY[
               'ledger._account_out', 'ledger._open_account', 'ledger.open_account',
               'ledger.get_account', 'ledger.close_account', 'ledger.set_account_stripes',
               'ledger._replay', 'ledger._post', 'ledger.transfer', 'ledger.post_entry',
               'ledger.hold', 'ledger._capture', 'ledger._void', 'ledger.capture', 'ledger.void',
               'ledger._reverse', 'ledger.reverse',
               'ledger._verify_all', 'ledger._verify_recent', 'ledger._verify_links',
               'ledger._verify_chain', 'ledger._verify_checkpoints', 'ledger.verify',
               'ledger.verify_full', 'ledger.verify_seal',
               'ledger._seal_tenant', 'ledger.seal',
               'wallet._wallet_out', 'wallet.open', 'wallet.balance',
               'wallet._tx_out', 'wallet._move', 'wallet.topup', 'wallet.purchase',
               'wallet.fail_purchase', 'wallet.history',
               'booking._booking_out', 'booking.create', 'booking.record_deposit',
               'booking.complete_balance_payment', 'booking.get',
               'fees._load_out', 'fees.create_load', 'fees.complete_load',
               'fees.deduct_service_fee', 'fees.refund_service_fee', 'fees.get_load',
               'tuition._terms', 'tuition.overview',
               'tuition._payment_out', 'tuition._payment_replay', 'tuition.submit_payment',
               'tuition.approve_payment', 'tuition.reject_payment'])
    LOOP
        EXECUTE format('DROP FUNCTION %s', v_fn);
    END LOOP;
END
$$;

CREATE TYPE ledger.account_result AS (
    tenant text, code text, currency text, balance bigint, pending_out bigint, pending_in bigint,
    available bigint, min_balance bigint, max_balance bigint, closed boolean);
COMMENT ON TYPE ledger.account_result IS
    'The account row every account function returns: posted balance, what holds reserve out of and into it, available = balance - pending_out, the limits (NULL: none) and whether it is closed.';

CREATE TYPE ledger.movement_result AS (entry_id bigint, status text, replayed boolean);
COMMENT ON TYPE ledger.movement_result IS
    'What a movement returns (transfer, hold, post_entry, capture, void, reverse): the entry, its status now, and whether the call replayed an earlier one with the same key.';

CREATE TYPE ledger.verify_result AS (check_name text, tenant text, subject text, detail text);
COMMENT ON TYPE ledger.verify_result IS
    'One violation found by ledger.verify, verify_full or verify_seal: which check, the tenant, what it concerns and the numbers (key=value). No rows: every check holds.';

CREATE TYPE ledger.seal_result AS (
    tenant text, seal_no bigint, horizon timestamptz, entries bigint, postings bigint,
    digest text);
COMMENT ON TYPE ledger.seal_result IS
    'One tenant''s seal: its number, the horizon it covers up to, how many entries and postings it added, and the chained digest.';

CREATE TYPE wallet.wallet_result AS (
    user_id text, currency text, balance bigint, available bigint);
COMMENT ON TYPE wallet.wallet_result IS
    'A wallet as the wallet functions return it: its user, currency, posted balance and what it can pay now.';

CREATE TYPE wallet.tx_result AS (
    reference text, user_id text, kind text, amount bigint, status text, replayed boolean);
COMMENT ON TYPE wallet.tx_result IS
    'A wallet transaction (top-up or purchase) as the wallet functions return it, with whether the call replayed it.';

CREATE TYPE booking.booking_result AS (
    booking text, status text, total bigint, deposit_paid bigint, balance_paid_amount bigint,
    balance_paid_at timestamptz, outstanding bigint, replayed boolean, already_paid boolean);
COMMENT ON TYPE booking.booking_result IS
    'A booking as the booking functions return it: its amounts, what is outstanding, whether the call replayed, and whether a balance payment found it already paid.';

CREATE TYPE fees.load_result AS (
    load text, status text, fee_status text, shipper_fee bigint, carrier_fee bigint,
    fee_entry_id bigint, refund_entry_id bigint, replayed boolean);
COMMENT ON TYPE fees.load_result IS
    'A load as the fees functions return it: its status, its fee''s status, the fees and the entries that took and refunded them, and whether the call replayed.';

CREATE TYPE tuition.payment_result AS (
    payment_id bigint, reference text, term_no int, amount bigint, status text,
    allocations jsonb, replayed boolean);
COMMENT ON TYPE tuition.payment_result IS
    'A tuition payment as the tuition functions return it: the term chosen, the amount, its status, how it was allocated over terms, and whether the call replayed.';

CREATE TYPE tuition.term_result AS (
    term_no int, name text, amount bigint, paid bigint, pending bigint, remaining bigint,
    effective_remaining bigint, status text, selectable boolean, blocked_reason text);
COMMENT ON TYPE tuition.term_result IS
    'The state of one term of an assessment, derived from its payments'' allocations: what is paid, pending and remaining, and whether a payment may choose it (else why not).';
