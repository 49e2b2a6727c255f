-- The tuition incident, unprotected: before recording a payment the client checks that the
-- term has no payment awaiting approval, then inserts it. A student who submits twice
-- before approval gets both past the check; accounting approves the queue and the
-- installment is paid twice.
-- Each block runs in a scratch schema of its own (search_path); every name says naive.

-- name: schema
CREATE TABLE naive_term (term_no int PRIMARY KEY, amount bigint NOT NULL);
CREATE TABLE naive_payment (reference text PRIMARY KEY, term_no int NOT NULL, amount bigint NOT NULL, status text NOT NULL);

-- name: seed
INSERT INTO naive_term (term_no, amount) VALUES (1, %(term_amount)s), (2, %(term_amount)s);

-- name: check
SELECT NOT EXISTS (SELECT FROM naive_payment AS p WHERE p.term_no = %(term_no)s AND p.status = 'awaiting_approval');

-- name: submit
INSERT INTO naive_payment (reference, term_no, amount, status) VALUES (%(reference)s, %(term_no)s, %(amount)s, 'awaiting_approval');

-- name: approve_all
UPDATE naive_payment SET status = 'paid' WHERE status = 'awaiting_approval';

-- name: paid
SELECT count(*) AS payments, coalesce(sum(p.amount), 0) AS amount FROM naive_payment AS p WHERE p.term_no = %(term_no)s AND p.status = 'paid';
