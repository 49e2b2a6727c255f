-- The kernel's moves done by an unprotected client (`pgbalance stress --naive`): transfers,
-- holds, captures, voids and reversals as check-then-update, over an account table whose
-- balances the client overwrites with values it computed, idempotency by "look first".
-- Each block runs in a scratch schema of its own (search_path); every name says naive.

-- name: schema
CREATE TABLE naive_account (code text PRIMARY KEY, currency text NOT NULL,
    balance bigint NOT NULL DEFAULT 0, pending_out bigint NOT NULL DEFAULT 0,
    pending_in bigint NOT NULL DEFAULT 0, min_balance bigint, max_balance bigint);
CREATE TABLE naive_entry (entry_id bigserial PRIMARY KEY, key text NOT NULL,
    kind text NOT NULL, src text NOT NULL, dst text NOT NULL,
    held bigint NOT NULL DEFAULT 0, amount bigint NOT NULL, status text NOT NULL,
    reverses bigint, reversed_amount bigint NOT NULL DEFAULT 0);

-- name: open_account
INSERT INTO naive_account (code, currency, min_balance, max_balance)
VALUES (%(code)s, %(currency)s, %(min_balance)s, %(max_balance)s);

-- name: account
SELECT * FROM naive_account WHERE code = %(code)s;

-- name: entry_by_key
SELECT * FROM naive_entry WHERE key = %(key)s LIMIT 1;

-- name: entry
SELECT * FROM naive_entry WHERE entry_id = %(entry_id)s;

-- name: set_account
UPDATE naive_account SET balance = coalesce(%(balance)s, balance),
    pending_out = coalesce(%(pending_out)s, pending_out),
    pending_in = coalesce(%(pending_in)s, pending_in)
WHERE code = %(code)s;

-- name: record
INSERT INTO naive_entry (key, kind, src, dst, held, amount, status, reverses)
VALUES (%(key)s, %(kind)s, %(src)s, %(dst)s, %(held)s, %(amount)s, %(status)s, %(reverses)s)
RETURNING entry_id;

-- name: set_status
UPDATE naive_entry SET status = %(status)s, amount = coalesce(%(amount)s, amount),
    reversed_amount = coalesce(%(reversed_amount)s, reversed_amount)
WHERE entry_id = %(entry_id)s;

-- name: balances
SELECT code, balance, pending_out, pending_in FROM naive_account;

-- name: accounts
SELECT * FROM naive_account ORDER BY code;

-- name: entries
SELECT * FROM naive_entry ORDER BY entry_id;

-- name: totals
SELECT currency, sum(balance)::bigint AS b, sum(pending_out)::bigint AS o,
    sum(pending_in)::bigint AS i
FROM naive_account GROUP BY currency;
