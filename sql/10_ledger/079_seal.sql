-- Run from cron like expire_holds (pgbalance seal). The horizon is taken first, then the
-- seal waits for the transactions that might still commit a posting before it
-- (ledger._seal_wait); each statement after that reads with a new snapshot (READ COMMITTED),
-- which therefore holds every posting before the horizon: a write, so READ COMMITTED
-- (ledger._check_access, 25000 otherwise).
CREATE OR REPLACE FUNCTION ledger.seal(p_tenant text DEFAULT NULL)
RETURNS SETOF ledger.seal_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_horizon timestamptz;
    v_tenant text;
    -- NULL by a tenant-bound role: only its tenants (NULL: every tenant).
    v_tenants text[];
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    IF p_tenant IS NULL THEN
        v_tenants := ledger._granted_tenants();
    ELSE
        PERFORM ledger._check_name('tenant', p_tenant, false);
    END IF;
    PERFORM ledger._seal_summarize();
    v_horizon := clock_timestamp();
    PERFORM ledger._seal_wait();
    FOR v_tenant IN
        SELECT DISTINCT a.tenant_id FROM ledger.account AS a
         WHERE (p_tenant IS NULL OR a.tenant_id = p_tenant)
           AND (v_tenants IS NULL OR a.tenant_id = ANY (v_tenants))
         ORDER BY a.tenant_id
    LOOP
        RETURN QUERY SELECT * FROM ledger._seal_tenant(v_tenant, v_horizon);
    END LOOP;
END
$$;
COMMENT ON FUNCTION ledger.seal(text) IS
    'Seal a tenant''s history up to now (NULL: every tenant, one seal each: spans tenants; a tenant-bound role: its own): per-account checkpoints at the horizon and a digest chaining the previous seal''s digest with every entry and posting sealed. Returns the seals made; keep the digests elsewhere (pgbalance seal prints them). Run it periodically: balance_at and verify read at most what came after the last seal.';
