-- Tuition's unprotected pattern: before recording a payment the client checks that the term
-- has nothing awaiting approval, then inserts it. A student who submits twice before
-- approval gets both past the check; accounting approves the queue and the installment is
-- paid twice (pgbalance.incidents.tuition). The harness (`pgbalance stress --naive`) also
-- approves one payment at a time, adding it to the term's paid column with a value the
-- client computed.
-- Each block runs in a scratch schema of its own (search_path); every name says naive.

-- name: schema
CREATE TABLE naive_student (assessment_id bigserial, student text NOT NULL);
CREATE TABLE naive_term (student text NOT NULL, term_no int NOT NULL, amount bigint NOT NULL,
    paid bigint NOT NULL DEFAULT 0);
CREATE TABLE naive_tuition_payment (payment_id bigserial PRIMARY KEY,
    reference text NOT NULL, student text NOT NULL, term_no int NOT NULL,
    amount bigint NOT NULL, status text NOT NULL DEFAULT 'awaiting_approval');

-- name: seed
INSERT INTO naive_term (student, term_no, amount)
VALUES (%(student)s, 1, %(term_amount)s), (%(student)s, 2, %(term_amount)s);

-- name: check
SELECT NOT EXISTS (SELECT FROM naive_tuition_payment AS p WHERE p.student = %(student)s
    AND p.term_no = %(term_no)s AND p.status = 'awaiting_approval');

-- name: submit
INSERT INTO naive_tuition_payment (reference, student, term_no, amount)
VALUES (%(reference)s, %(student)s, %(term_no)s, %(amount)s) RETURNING *;

-- name: approve_all
UPDATE naive_tuition_payment SET status = 'paid' WHERE status = 'awaiting_approval';

-- name: paid
SELECT count(*) AS payments, coalesce(sum(p.amount), 0) AS amount
FROM naive_tuition_payment AS p
WHERE p.student = %(student)s AND p.term_no = %(term_no)s AND p.status = 'paid';

-- name: student
SELECT assessment_id FROM naive_student WHERE student = %(student)s LIMIT 1;

-- name: create_student
INSERT INTO naive_student (student) VALUES (%(student)s) RETURNING assessment_id;

-- name: create_term
INSERT INTO naive_term (student, term_no, amount)
VALUES (%(student)s, %(term_no)s, %(amount)s);

-- name: payment
SELECT * FROM naive_tuition_payment WHERE reference = %(reference)s LIMIT 1;

-- name: payment_by_id
SELECT * FROM naive_tuition_payment WHERE payment_id = %(payment_id)s;

-- name: term_state
SELECT t.term_no, t.amount, t.paid, coalesce((SELECT sum(p.amount)
        FROM naive_tuition_payment AS p WHERE p.student = t.student
        AND p.term_no = t.term_no AND p.status = 'awaiting_approval'), 0) AS pending
FROM naive_term AS t WHERE t.student = %(student)s ORDER BY 1;

-- name: term_paid
SELECT paid FROM naive_term WHERE student = %(student)s AND term_no = %(term_no)s;

-- name: set_term_paid
UPDATE naive_term SET paid = %(paid)s WHERE student = %(student)s AND term_no = %(term_no)s;

-- name: set_status
UPDATE naive_tuition_payment SET status = %(status)s WHERE payment_id = %(payment_id)s;

-- name: payments
SELECT * FROM naive_tuition_payment;

-- name: terms
SELECT * FROM naive_term ORDER BY student, term_no;
