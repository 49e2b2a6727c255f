-- fees: a service fee on a completed load debits the shipper's and the carrier's wallets
-- and credits platform revenue in one ledger entry, or nothing. Expected output: 04_fees.out.
\set VERBOSITY sqlstate

SELECT user_id, balance FROM wallet.open('example-fees', 'shipper-1', 'EUR');
SELECT user_id, balance FROM wallet.open('example-fees', 'carrier-1', 'EUR');
SELECT status FROM wallet.topup('example-fees', 'shipper-1', 3000, 'fund-shipper');
SELECT status FROM wallet.topup('example-fees', 'carrier-1', 500, 'fund-carrier');

SELECT load, status, fee_status
  FROM fees.create_load('example-fees', 'L-1', 'shipper-1', 'carrier-1', 'EUR');

-- No fee before the load is completed (PB004); completing it always succeeds.
\set ON_ERROR_STOP 0
SELECT fee_status FROM fees.deduct_service_fee('example-fees', 'L-1', 1000, 200);
\set ON_ERROR_STOP 1
SELECT load, status, fee_status FROM fees.complete_load('example-fees', 'L-1');

-- The carrier cannot pay 900: neither wallet is touched (PB001).
\set ON_ERROR_STOP 0
SELECT fee_status FROM fees.deduct_service_fee('example-fees', 'L-1', 1000, 900);
\set ON_ERROR_STOP 1
SELECT load, fee_status, shipper_fee, carrier_fee, replayed
  FROM fees.deduct_service_fee('example-fees', 'L-1', 1000, 200);
SELECT load, fee_status, shipper_fee, carrier_fee, replayed
  FROM fees.deduct_service_fee('example-fees', 'L-1', 1000, 200);
SELECT fees.platform_revenue('example-fees', 'EUR') AS revenue;

-- Refund: both wallets get their fee back, once.
SELECT load, fee_status, replayed FROM fees.refund_service_fee('example-fees', 'L-1', 'disputed');
SELECT load, fee_status, replayed FROM fees.refund_service_fee('example-fees', 'L-1', 'disputed');
SELECT fees.platform_revenue('example-fees', 'EUR') AS revenue;
SELECT user_id, balance FROM wallet.balance('example-fees', 'shipper-1');
SELECT user_id, balance FROM wallet.balance('example-fees', 'carrier-1');
SELECT count(*) AS violations FROM ledger.verify('example-fees');
