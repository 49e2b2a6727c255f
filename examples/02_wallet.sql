-- wallet: top-ups and purchases; a failed purchase is refunded exactly once and a wallet
-- never goes below zero. Expected output: 02_wallet.out (first run on a migrated database).
\set VERBOSITY sqlstate

SELECT user_id, currency, balance, available FROM wallet.open('example-wallet', 'u-1', 'MYR');

-- A top-up, and the payment provider's retry of it: applied once.
SELECT reference, kind, amount, status, replayed
  FROM wallet.topup('example-wallet', 'u-1', 5000, 'topup-1');
SELECT reference, kind, amount, status, replayed
  FROM wallet.topup('example-wallet', 'u-1', 5000, 'topup-1');

-- A purchase, then one the wallet cannot pay (PB001: nothing is written).
SELECT reference, kind, amount, status, replayed
  FROM wallet.purchase('example-wallet', 'u-1', 1800, 'order-1', '[{"sku": "A-1", "qty": 2}]');
\set ON_ERROR_STOP 0
SELECT reference FROM wallet.purchase('example-wallet', 'u-1', 9000, 'order-2');
\set ON_ERROR_STOP 1

-- The order failed downstream: refunded once, however often it is reported.
SELECT reference, kind, amount, status, replayed
  FROM wallet.fail_purchase('example-wallet', 'order-1', 'out of stock');
SELECT reference, kind, amount, status, replayed
  FROM wallet.fail_purchase('example-wallet', 'order-1', 'out of stock');

SELECT user_id, balance, available FROM wallet.balance('example-wallet', 'u-1');
SELECT reference, kind, amount, status FROM wallet.history('example-wallet', 'u-1');
SELECT count(*) AS violations FROM ledger.verify('example-wallet');
