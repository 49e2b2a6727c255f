-- tuition: installment terms; a payment waits as a ledger hold until accounting approves
-- it; one pending payment per term; what exceeds a term carries over in term order.
-- Expected output: 05_tuition.out.
\set VERBOSITY sqlstate

SELECT tuition.create_assessment('example-tuition', 'S-1', 'PHP',
    '[{"name": "Upon Registration", "amount": 5000},
      {"name": "Prelims", "amount": 3000},
      {"name": "Finals", "amount": 3000}]') > 0 AS created;

SELECT term_no, name, amount, remaining, status, selectable
  FROM tuition.overview('example-tuition', 'S-1');

-- 6000 for term 1: 5000 settle it, 1000 carry over to term 2.
SELECT payment_id AS p1, status, allocations
  FROM tuition.submit_payment('example-tuition', 'S-1', 1, 6000, 'or-001') \gset
\echo :status :allocations

-- Term 2 has a pending allocation now: no other payment until this one is decided (PB008).
\set ON_ERROR_STOP 0
SELECT status FROM tuition.submit_payment('example-tuition', 'S-1', 2, 500, 'or-002');
\set ON_ERROR_STOP 1

SELECT term_no, paid, pending, effective_remaining, status, selectable,
       blocked_reason IS NOT NULL AS blocked
  FROM tuition.overview('example-tuition', 'S-1');
SELECT reference, term_no, amount, status FROM tuition.awaiting_approval('example-tuition');

-- Accounting approves: applied once.
SELECT reference, status, replayed FROM tuition.approve_payment('example-tuition', :p1, 'acct-7');
SELECT reference, status, replayed FROM tuition.approve_payment('example-tuition', :p1, 'acct-7');

-- The next payment is rejected: its hold is released.
SELECT payment_id AS p2
  FROM tuition.submit_payment('example-tuition', 'S-1', 2, 2000, 'or-003') \gset
SELECT reference, status, replayed
  FROM tuition.reject_payment('example-tuition', :p2, 'bounced cheque');

SELECT term_no, paid, pending, remaining, status, selectable
  FROM tuition.overview('example-tuition', 'S-1');
SELECT count(*) AS violations FROM ledger.verify('example-tuition');
