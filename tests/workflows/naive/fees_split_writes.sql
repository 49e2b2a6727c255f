-- The fees incident, unprotected: the service fee is a journal row plus three wallet
-- updates (shipper -, carrier -, platform +), each its own autocommit statement after the
-- app checked both balances. Two loads deducted together both pass the check; the second
-- carrier debit then fails midway, after its journal row and shipper debit committed, and
-- the journal, the wallets and the platform's revenue no longer agree.
-- Each block runs in a scratch schema of its own (search_path); every name says naive.

-- name: schema
CREATE TABLE naive_wallet (user_id text PRIMARY KEY, balance bigint NOT NULL, CONSTRAINT naive_wallet_not_negative CHECK (balance >= 0));
CREATE TABLE naive_fee_journal (load_id text PRIMARY KEY, shipper_fee bigint NOT NULL, carrier_fee bigint NOT NULL);

-- name: seed
INSERT INTO naive_wallet (user_id, balance) VALUES (%(shipper)s, %(shipper_balance)s), (%(carrier)s, %(carrier_balance)s), (%(platform)s, 0);

-- name: check
SELECT bool_and(w.balance >= CASE w.user_id WHEN %(shipper)s THEN %(shipper_fee)s ELSE %(carrier_fee)s END) FROM naive_wallet AS w WHERE w.user_id IN (%(shipper)s, %(carrier)s);

-- name: journal
INSERT INTO naive_fee_journal (load_id, shipper_fee, carrier_fee) VALUES (%(load)s, %(shipper_fee)s, %(carrier_fee)s);

-- name: debit_shipper
UPDATE naive_wallet SET balance = balance - %(shipper_fee)s WHERE user_id = %(shipper)s;

-- name: debit_carrier
UPDATE naive_wallet SET balance = balance - %(carrier_fee)s WHERE user_id = %(carrier)s;

-- name: credit_platform
UPDATE naive_wallet SET balance = balance + %(shipper_fee)s + %(carrier_fee)s WHERE user_id = %(platform)s;

-- name: drift
SELECT coalesce((SELECT sum(j.shipper_fee + j.carrier_fee) FROM naive_fee_journal AS j), 0) AS journaled, (SELECT w.balance FROM naive_wallet AS w WHERE w.user_id = %(platform)s) AS revenue, %(shipper_balance)s + %(carrier_balance)s - (SELECT sum(w.balance) FROM naive_wallet AS w WHERE w.user_id <> %(platform)s) AS debited;
