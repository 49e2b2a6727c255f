-- The ledger kernel in one session: accounts, an idempotent transfer, a refused overdraft,
-- a hold captured in part, a reversal, a statement and ledger.verify().
--
-- Run it against a migrated database (`pgbalance migrate`); the calls are idempotent, so
-- a second run answers with replayed = t (the expected output is for the first run):
--   psql -X -v ON_ERROR_STOP=1 -f examples/01_ledger.sql "$DATABASE_URL"
-- Errors print as their SQLSTATE only: callers match on the code, not the message.
\set VERBOSITY sqlstate

-- Accounts: an external funding account with no floor (NULL = unbounded), two customers
-- who may not go below 0 (the default floor).
SELECT code, currency, balance, available, min_balance, max_balance
  FROM ledger.open_account('example-ledger', 'bank', 'EUR', p_min_balance => NULL);
SELECT code, currency, balance, available, min_balance
  FROM ledger.open_account('example-ledger', 'alice', 'EUR');
SELECT code, currency, balance, available, min_balance
  FROM ledger.open_account('example-ledger', 'bob', 'EUR');

-- A transfer, then its retry with the same key: the retry changes nothing.
SELECT status, replayed
  FROM ledger.transfer('example-ledger', 'fund-alice-1', 'bank', 'alice', 10000);
SELECT status, replayed
  FROM ledger.transfer('example-ledger', 'fund-alice-1', 'bank', 'alice', 10000);

-- The same key with another amount is a conflict (PB003); an overdraft is refused (PB001).
\set ON_ERROR_STOP 0
SELECT status FROM ledger.transfer('example-ledger', 'fund-alice-1', 'bank', 'alice', 99);
SELECT status FROM ledger.transfer('example-ledger', 'rent-1', 'alice', 'bob', 25000);
\set ON_ERROR_STOP 1

-- A hold reserves money: it counts against alice's available balance until captured.
SELECT entry_id AS hold_id, status
  FROM ledger.hold('example-ledger', 'order-7', 'alice', 'bob', 4000) \gset
\echo hold status: :status
SELECT code, balance, pending_out, available FROM ledger.get_account('example-ledger', 'alice');

-- Capture part of it; the rest is released.
SELECT status, replayed FROM ledger.capture('example-ledger', :hold_id, 2500);
SELECT code, balance, pending_out, available FROM ledger.get_account('example-ledger', 'alice');

-- A transfer reversed in full: the original becomes 'reversed'.
SELECT entry_id AS gift_id
  FROM ledger.transfer('example-ledger', 'gift-1', 'alice', 'bob', 1000) \gset
SELECT status, replayed FROM ledger.reverse('example-ledger', 'gift-1-undo', :gift_id);
SELECT idempotency_key, status, legs FROM ledger.get_entry('example-ledger', :gift_id);

-- alice's statement: every posted movement, with the running balance.
SELECT amount, balance_after, metadata FROM ledger.statement('example-ledger', 'alice');
SELECT code, balance, pending_out, pending_in, available
  FROM ledger.get_account('example-ledger', 'bob');

-- No rows: every balance agrees with the postings.
SELECT * FROM ledger.verify('example-ledger');
