-- The wallet incident, unprotected: two authorities deduct the same purchase. A trigger
-- deducts every purchase row inserted, and the application, which first checked the
-- balance and the reference itself, deducts the purchase again with its own UPDATE.
-- A client retrying the purchase (same reference) repeats all of it.
-- Each block runs in a scratch schema of its own (search_path); every name says naive.

-- name: schema
CREATE TABLE naive_wallet (user_id text PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE naive_purchase (reference text NOT NULL, user_id text NOT NULL, amount bigint NOT NULL);
CREATE FUNCTION naive_deduct() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE naive_wallet SET balance = balance - NEW.amount WHERE user_id = NEW.user_id;
    RETURN NEW;
END $$;
CREATE TRIGGER naive_purchase_deducts AFTER INSERT ON naive_purchase
    FOR EACH ROW EXECUTE FUNCTION naive_deduct();

-- name: seed
INSERT INTO naive_wallet (user_id, balance) VALUES (%(user)s, %(balance)s);

-- name: check
SELECT w.balance >= %(amount)s AND NOT EXISTS (SELECT FROM naive_purchase AS p WHERE p.reference = %(reference)s) FROM naive_wallet AS w WHERE w.user_id = %(user)s;

-- name: record
INSERT INTO naive_purchase (reference, user_id, amount) VALUES (%(reference)s, %(user)s, %(amount)s);

-- name: deduct
UPDATE naive_wallet SET balance = balance - %(amount)s WHERE user_id = %(user)s;

-- name: balance
SELECT balance FROM naive_wallet WHERE user_id = %(user)s;
