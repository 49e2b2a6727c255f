-- Monitoring queries from docs/operations.md, run against a small example. They read
-- tables, so run them as the owner or as a member of pgbalance_auditor.
-- Expected output: 90_monitoring.out.
\set VERBOSITY sqlstate

SELECT code FROM ledger.open_account('example-monitoring', 'bank', 'EUR', p_min_balance => NULL);
SELECT code FROM ledger.open_account('example-monitoring', 'alice', 'EUR');
SELECT status FROM ledger.transfer('example-monitoring', 'fund', 'bank', 'alice', 1000);
-- One hold that expired long ago, one that expires far in the future.
SELECT status FROM ledger.hold('example-monitoring', 'h-old', 'alice', 'bank', 100,
                               p_expires_at => '2000-01-01T00:00:00Z');
SELECT status FROM ledger.hold('example-monitoring', 'h-new', 'alice', 'bank', 200,
                               p_expires_at => '2999-01-01T00:00:00Z');

-- Hold expiry backlog: holds past expires_at that expire_holds has not voided yet. Rows
-- here for more than the job's period mean the job is not running.
SELECT tenant_id, count(*) AS expired_holds, sum(amount) AS reserved,
       max(clock_timestamp() - expires_at) > interval '5 minutes' AS stale
  FROM ledger.entry
 WHERE status = 'pending' AND expires_at <= clock_timestamp()
 GROUP BY tenant_id ORDER BY tenant_id;

-- What the periodic job does (pg_cron or `pgbalance expire-holds`), here for one tenant.
SELECT ledger.expire_holds('example-monitoring') AS voided;

SELECT tenant_id, count(*) AS expired_holds
  FROM ledger.entry
 WHERE status = 'pending' AND expires_at <= clock_timestamp()
 GROUP BY tenant_id ORDER BY tenant_id;

-- Money reserved by holds still pending, per tenant and currency.
SELECT a.tenant_id, a.currency, sum(a.pending_out) AS reserved
  FROM ledger.account AS a
 WHERE a.pending_out > 0
 GROUP BY a.tenant_id, a.currency ORDER BY 1, 2;

-- Work queues of the workflows: tuition payments awaiting approval, booking payments kept
-- for refund (0 here: this example made none).
SELECT count(*) AS awaiting_approval FROM tuition.payment WHERE status = 'awaiting_approval';
SELECT count(*) AS unapplied_payments, coalesce(sum(amount), 0) AS amount
  FROM booking.payment WHERE NOT applied;

-- Sessions of this database waiting on a lock right now (the API never deadlocks; waits
-- mean a hot account).
SELECT count(*) AS waiting FROM pg_stat_activity
 WHERE datname = current_database() AND wait_event_type = 'Lock';

-- The consistency check: no rows = every balance agrees with the postings.
SELECT check_name, count(*) FROM ledger.verify() GROUP BY check_name;
SELECT count(*) AS violations FROM ledger.verify();
