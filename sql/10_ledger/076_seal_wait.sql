-- A seal's horizon is final once every transaction that could still commit a posting before
-- it has ended. A movement gets its transaction id (claiming its key, or locking its entry)
-- and a lock on ledger.entry before it takes posted_at, and keeps both until it ends; so
-- waiting for the transactions holding a lock on ledger.entry once the horizon is taken is
-- enough. It waits on them; it takes no lock that could make them wait.
CREATE OR REPLACE FUNCTION ledger._seal_wait()
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_xids xid[];
BEGIN
    SELECT array_agg(x.transactionid) INTO v_xids
      FROM pg_locks AS x
      JOIN pg_locks AS r ON r.pid = x.pid
     WHERE x.locktype = 'transactionid' AND x.mode = 'ExclusiveLock' AND x.granted
       AND r.locktype = 'relation' AND r.relation = 'ledger.entry'::regclass
       AND r.database = (SELECT d.oid FROM pg_database AS d WHERE d.datname = current_database())
       AND x.pid <> pg_backend_pid();
    WHILE v_xids IS NOT NULL AND EXISTS (
            SELECT FROM pg_locks AS l
             WHERE l.locktype = 'transactionid' AND l.transactionid = ANY (v_xids)) LOOP
        PERFORM pg_sleep(0.002);
    END LOOP;
END
$$;
COMMENT ON FUNCTION ledger._seal_wait() IS
    'Private: wait until every transaction that holds a lock on ledger.entry now has ended (so no posting before a horizon taken earlier can still commit).';
