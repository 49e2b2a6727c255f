-- The booking incident, unprotected: the balance-payment webhook handler checks the
-- booking (deposit paid, amount due, payment not seen) and then applies the payment.
-- Webhooks that arrive together all pass the check before any applies: the balance is
-- applied once per webhook.
-- Each block runs in a scratch schema of its own (search_path); every name says naive.

-- name: schema
CREATE TABLE naive_booking (booking_id text PRIMARY KEY, total bigint NOT NULL, deposit_paid bigint NOT NULL, balance_paid bigint NOT NULL DEFAULT 0, status text NOT NULL);
CREATE TABLE naive_payment (payment_ref text NOT NULL, booking_id text NOT NULL, amount bigint NOT NULL);

-- name: seed
INSERT INTO naive_booking (booking_id, total, deposit_paid, status) VALUES (%(booking)s, %(total)s, %(deposit)s, 'DEPOSIT_PAID');

-- name: check
SELECT b.status = 'DEPOSIT_PAID' AND b.total - b.deposit_paid - b.balance_paid = %(amount)s AND NOT EXISTS (SELECT FROM naive_payment AS p WHERE p.payment_ref = %(payment_ref)s) FROM naive_booking AS b WHERE b.booking_id = %(booking)s;

-- name: apply
UPDATE naive_booking SET status = 'PAID', balance_paid = balance_paid + %(amount)s WHERE booking_id = %(booking)s;

-- name: record
INSERT INTO naive_payment (payment_ref, booking_id, amount) VALUES (%(payment_ref)s, %(booking)s, %(amount)s);

-- name: paid
SELECT balance_paid FROM naive_booking WHERE booking_id = %(booking)s;
