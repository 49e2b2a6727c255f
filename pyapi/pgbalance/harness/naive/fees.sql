-- The fees' unprotected pattern: the client checks the wallets, then writes each wallet,
-- the platform's revenue and the fee's record separately. In the incident
-- (pgbalance.incidents.fees) each write is its own autocommit statement: two loads deducted
-- together both pass the check, the carrier debit of the second fails midway on the
-- wallet's floor after its journal row and shipper debit committed, and journal, wallets
-- and revenue disagree. The harness (`pgbalance stress --naive`) writes, in one
-- transaction, values it computed from what it read, with the load's fee status kept
-- apart from the balances (two authorities).
-- Each block runs in a scratch schema of its own (search_path); every name says naive.

-- name: schema
CREATE TABLE naive_fee_wallet (user_id text PRIMARY KEY, balance bigint NOT NULL,
    CONSTRAINT naive_fee_wallet_not_negative CHECK (balance >= 0));
CREATE TABLE naive_revenue (currency text PRIMARY KEY, amount bigint NOT NULL);
CREATE TABLE naive_fee_journal (load_id text PRIMARY KEY, shipper_fee bigint NOT NULL,
    carrier_fee bigint NOT NULL);
CREATE TABLE naive_fee_topup (reference text NOT NULL, user_id text NOT NULL,
    amount bigint NOT NULL);
CREATE TABLE naive_load (load_id text NOT NULL, shipper text NOT NULL, carrier text NOT NULL,
    status text NOT NULL DEFAULT 'CREATED', fee_status text NOT NULL DEFAULT 'NONE',
    shipper_fee bigint, carrier_fee bigint,
    deductions int NOT NULL DEFAULT 0, refunds int NOT NULL DEFAULT 0);

-- name: seed
WITH revenue AS (INSERT INTO naive_revenue (currency, amount) VALUES (%(currency)s, 0))
INSERT INTO naive_fee_wallet (user_id, balance)
VALUES (%(shipper)s, %(shipper_balance)s), (%(carrier)s, %(carrier_balance)s);

-- name: check
SELECT bool_and(w.balance >= CASE w.user_id WHEN %(shipper)s THEN %(shipper_fee)s
    ELSE %(carrier_fee)s END)
FROM naive_fee_wallet AS w WHERE w.user_id IN (%(shipper)s, %(carrier)s);

-- name: journal
INSERT INTO naive_fee_journal (load_id, shipper_fee, carrier_fee)
VALUES (%(load)s, %(shipper_fee)s, %(carrier_fee)s);

-- name: debit_shipper
UPDATE naive_fee_wallet SET balance = balance - %(shipper_fee)s WHERE user_id = %(shipper)s;

-- name: debit_carrier
UPDATE naive_fee_wallet SET balance = balance - %(carrier_fee)s WHERE user_id = %(carrier)s;

-- name: credit_platform
UPDATE naive_revenue SET amount = amount + %(shipper_fee)s + %(carrier_fee)s
WHERE currency = %(currency)s;

-- name: drift
SELECT coalesce((SELECT sum(j.shipper_fee + j.carrier_fee) FROM naive_fee_journal AS j), 0)
        AS journaled,
    (SELECT r.amount FROM naive_revenue AS r WHERE r.currency = %(currency)s) AS revenue,
    %(shipper_balance)s + %(carrier_balance)s
        - (SELECT sum(w.balance) FROM naive_fee_wallet AS w) AS debited;

-- name: open_wallet
INSERT INTO naive_fee_wallet (user_id, balance) VALUES (%(user)s, %(balance)s);

-- name: open_revenue
INSERT INTO naive_revenue (currency, amount) VALUES (%(currency)s, 0);

-- name: wallet
SELECT balance FROM naive_fee_wallet WHERE user_id = %(user)s;

-- name: set_wallet
UPDATE naive_fee_wallet SET balance = %(balance)s WHERE user_id = %(user)s;

-- name: revenue
SELECT amount FROM naive_revenue WHERE currency = %(currency)s;

-- name: set_revenue
UPDATE naive_revenue SET amount = %(amount)s WHERE currency = %(currency)s;

-- name: load
SELECT * FROM naive_load WHERE load_id = %(load)s LIMIT 1;

-- name: create_load
INSERT INTO naive_load (load_id, shipper, carrier) VALUES (%(load)s, %(shipper)s, %(carrier)s)
RETURNING *;

-- name: complete_load
UPDATE naive_load SET status = 'COMPLETED' WHERE load_id = %(load)s;

-- name: mark_deducted
UPDATE naive_load SET fee_status = 'DEDUCTED', shipper_fee = %(shipper_fee)s,
    carrier_fee = %(carrier_fee)s, deductions = deductions + 1
WHERE load_id = %(load)s;

-- name: mark_refunded
UPDATE naive_load SET fee_status = 'REFUNDED', refunds = refunds + 1 WHERE load_id = %(load)s;

-- name: topup
SELECT * FROM naive_fee_topup WHERE reference = %(reference)s LIMIT 1;

-- name: record_topup
INSERT INTO naive_fee_topup (reference, user_id, amount)
VALUES (%(reference)s, %(user)s, %(amount)s);

-- name: balances
SELECT user_id, balance FROM naive_fee_wallet;

-- name: loads
SELECT * FROM naive_load;

-- name: topups
SELECT * FROM naive_fee_topup;
