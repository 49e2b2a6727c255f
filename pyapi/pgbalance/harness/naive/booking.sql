-- The booking's unprotected pattern: the payment handler reads the booking (deposit paid?
-- amount due? payment_ref seen?) and then applies the payment; the booking's status and
-- paid columns and the payments table are two authorities over one balance. Webhooks that
-- arrive together all pass the check before any applies (pgbalance.incidents.booking); the
-- harness (`pgbalance stress --naive`) runs deposits and balances the same way.
-- Each block runs in a scratch schema of its own (search_path); every name says naive.

-- name: schema
CREATE TABLE naive_booking (booking_id text NOT NULL, total bigint NOT NULL,
    deposit bigint NOT NULL, status text NOT NULL DEFAULT 'PENDING',
    deposit_paid bigint NOT NULL DEFAULT 0, balance_paid bigint NOT NULL DEFAULT 0);
CREATE TABLE naive_booking_payment (payment_ref text NOT NULL, booking_id text NOT NULL,
    kind text NOT NULL, amount bigint NOT NULL, applied boolean NOT NULL);

-- name: seed
INSERT INTO naive_booking (booking_id, total, deposit, status, deposit_paid)
VALUES (%(booking)s, %(total)s, %(deposit)s, 'DEPOSIT_PAID', %(deposit)s);

-- name: check
SELECT b.status = 'DEPOSIT_PAID' AND b.total - b.deposit_paid - b.balance_paid = %(amount)s
    AND NOT EXISTS (SELECT FROM naive_booking_payment AS p
        WHERE p.payment_ref = %(payment_ref)s)
FROM naive_booking AS b WHERE b.booking_id = %(booking)s;

-- name: apply
UPDATE naive_booking SET status = 'PAID', balance_paid = balance_paid + %(amount)s
WHERE booking_id = %(booking)s;

-- name: record
INSERT INTO naive_booking_payment (payment_ref, booking_id, kind, amount, applied)
VALUES (%(payment_ref)s, %(booking)s, %(kind)s, %(amount)s, %(applied)s);

-- name: paid
SELECT balance_paid FROM naive_booking WHERE booking_id = %(booking)s;

-- name: create
INSERT INTO naive_booking (booking_id, total, deposit)
VALUES (%(booking)s, %(total)s, %(deposit)s) RETURNING *;

-- name: booking
SELECT * FROM naive_booking WHERE booking_id = %(booking)s LIMIT 1;

-- name: payment
SELECT * FROM naive_booking_payment WHERE payment_ref = %(payment_ref)s LIMIT 1;

-- name: apply_deposit
UPDATE naive_booking SET status = 'DEPOSIT_PAID', deposit_paid = %(amount)s
WHERE booking_id = %(booking)s;

-- name: bookings
SELECT * FROM naive_booking;

-- name: payments
SELECT * FROM naive_booking_payment;
