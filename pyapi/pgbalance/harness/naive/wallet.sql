-- The wallet's unprotected pattern: the client reads the balance and the reference, decides,
-- then writes. The incident (pgbalance.incidents.wallet) adds a second authority: a trigger
-- deducting every purchase inserted, while the app deducts it again itself; a client retry
-- repeats everything. The harness (`pgbalance stress --naive`) writes balances it computed
-- from what it read (lost updates, refunds repeated).
-- Each block runs in a scratch schema of its own (search_path); every name says naive.

-- name: schema
CREATE TABLE naive_wallet (user_id text PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE naive_wallet_tx (reference text NOT NULL, user_id text NOT NULL,
    kind text NOT NULL, amount bigint NOT NULL, status text NOT NULL DEFAULT 'completed',
    refunds int NOT NULL DEFAULT 0);

-- name: trigger
CREATE FUNCTION naive_deduct() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE naive_wallet SET balance = balance - NEW.amount WHERE user_id = NEW.user_id;
    RETURN NEW;
END $$;
CREATE TRIGGER naive_purchase_deducts AFTER INSERT ON naive_wallet_tx
    FOR EACH ROW WHEN (NEW.kind = 'purchase') EXECUTE FUNCTION naive_deduct();

-- name: seed
INSERT INTO naive_wallet (user_id, balance) VALUES (%(user)s, %(balance)s);

-- name: check
SELECT w.balance >= %(amount)s AND NOT EXISTS (SELECT FROM naive_wallet_tx AS t
    WHERE t.reference = %(reference)s) FROM naive_wallet AS w WHERE w.user_id = %(user)s;

-- name: record
INSERT INTO naive_wallet_tx (reference, user_id, kind, amount)
VALUES (%(reference)s, %(user)s, %(kind)s, %(amount)s) RETURNING *;

-- name: deduct
UPDATE naive_wallet SET balance = balance - %(amount)s WHERE user_id = %(user)s;

-- name: balance
SELECT balance FROM naive_wallet WHERE user_id = %(user)s;

-- name: wallet
SELECT * FROM naive_wallet WHERE user_id = %(user)s;

-- name: tx
SELECT * FROM naive_wallet_tx WHERE reference = %(reference)s;

-- name: set_balance
UPDATE naive_wallet SET balance = %(balance)s WHERE user_id = %(user)s;

-- name: mark_failed
UPDATE naive_wallet_tx SET status = 'failed', refunds = refunds + 1
WHERE reference = %(reference)s;

-- name: balances
SELECT user_id, balance FROM naive_wallet;

-- name: txs
SELECT * FROM naive_wallet_tx ORDER BY reference;

-- name: mismatches
SELECT w.user_id, w.balance, coalesce(sum(CASE WHEN t.kind = 'topup' THEN t.amount
    WHEN t.status = 'completed' THEN -t.amount ELSE 0 END), 0) AS txs
FROM naive_wallet AS w LEFT JOIN naive_wallet_tx AS t USING (user_id)
GROUP BY 1, 2
HAVING w.balance <> coalesce(sum(CASE WHEN t.kind = 'topup' THEN t.amount
    WHEN t.status = 'completed' THEN -t.amount ELSE 0 END), 0);
