-- booking: a deposit, then the balance paid from payment-provider webhooks; applied exactly
-- once however many arrive, extra payments kept for refund. Expected output: 03_booking.out.
\set VERBOSITY sqlstate

SELECT booking, status, total, deposit_paid, outstanding
  FROM booking.create('example-booking', 'B-100', 120000, 20000, 'USD');

-- A balance webhook before the deposit is refused (PB004) and records nothing, so the
-- provider's retry applies it later.
\set ON_ERROR_STOP 0
SELECT status FROM booking.complete_balance_payment('example-booking', 'B-100', 100000, 'pay-2');
\set ON_ERROR_STOP 1

SELECT booking, status, deposit_paid, outstanding, replayed
  FROM booking.record_deposit('example-booking', 'B-100', 20000, 'pay-1');
SELECT booking, status, balance_paid_amount, outstanding, replayed, already_paid
  FROM booking.complete_balance_payment('example-booking', 'B-100', 100000, 'pay-2');
-- The same webhook again: replayed.
SELECT booking, status, balance_paid_amount, outstanding, replayed, already_paid
  FROM booking.complete_balance_payment('example-booking', 'B-100', 100000, 'pay-2');
-- A second provider payment for a paid booking: no money moves, it is kept for refund.
SELECT booking, status, balance_paid_amount, outstanding, replayed, already_paid
  FROM booking.complete_balance_payment('example-booking', 'B-100', 100000, 'pay-3');

SELECT payment_ref, amount FROM booking.unapplied_payments('example-booking', 'B-100');
SELECT booking, status, total, deposit_paid, balance_paid_amount, outstanding
  FROM booking.get('example-booking', 'B-100');
SELECT count(*) AS violations FROM ledger.verify('example-booking');
