CREATE OR REPLACE FUNCTION ledger.expire_holds(p_tenant text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now timestamptz := clock_timestamp();
    v_txid bigint;
    v_tenant text;
    v_count integer := 0;
    v_ids bigint[];
    v_id bigint;
    -- NULL by a tenant-bound role: only its tenants (NULL: every tenant).
    v_tenants text[];
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    -- Every tenant: one tenant at a time, in tenant order (one global lock order). Each
    -- call's queries name its tenant, so on Citus they run on the tenant's worker (FOR UPDATE
    -- is refused across shards).
    IF p_tenant IS NULL THEN
        v_tenants := ledger._granted_tenants();
        FOR v_tenant IN
            SELECT DISTINCT e.tenant_id FROM ledger.entry AS e
             WHERE e.status = 'pending' AND e.expires_at <= v_now
               AND (v_tenants IS NULL OR e.tenant_id = ANY(v_tenants))
             ORDER BY e.tenant_id
        LOOP
            v_count := v_count + ledger.expire_holds(v_tenant);
        END LOOP;
        RETURN v_count;
    ELSE
        PERFORM ledger._check_name('tenant', p_tenant, false);
    END IF;
    -- Entries first (skipping those a capture or void is working on), then every account
    -- they touch in one global order, so this never deadlocks with other calls.
    SELECT array_agg(x.entry_id ORDER BY x.entry_id) INTO v_ids FROM (
        SELECT e.entry_id FROM ledger.entry AS e
         WHERE e.tenant_id = p_tenant AND e.status = 'pending' AND e.expires_at <= v_now
         ORDER BY e.entry_id
           FOR UPDATE SKIP LOCKED) AS x;
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM FROM ledger.account AS a
     WHERE a.tenant_id = p_tenant
       AND a.account_id IN (SELECT p.account_id FROM ledger.posting AS p
                             WHERE p.tenant_id = p_tenant AND p.entry_id = ANY (v_ids))
     ORDER BY a.account_id
       FOR NO KEY UPDATE;
    -- The holds are released one statement each, so the stripes of striped accounts
    -- (ledger._apply_postings writes those last, in account_id order, on stripe
    -- txid_current() % stripes) are locked here first, in that order, created empty if missing.
    v_txid := txid_current();
    INSERT INTO ledger.account_stripe AS s (tenant_id, account_id, stripe_no)
    SELECT p_tenant, a.account_id, (v_txid % a.stripes)::smallint
      FROM ledger.account AS a
     WHERE a.tenant_id = p_tenant
       AND a.account_id IN (SELECT p.account_id FROM ledger.posting AS p
                             WHERE p.tenant_id = p_tenant AND p.entry_id = ANY (v_ids))
       AND a.stripes > 0
     ORDER BY a.account_id
        ON CONFLICT ON CONSTRAINT account_stripe_pkey DO UPDATE SET stripe_no = s.stripe_no;
    FOREACH v_id IN ARRAY v_ids LOOP
        PERFORM ledger._release_hold(p_tenant, v_id, NULL);
    END LOOP;
    UPDATE ledger.entry AS e SET status = 'voided'
     WHERE e.tenant_id = p_tenant AND e.entry_id = ANY (v_ids);
    RETURN cardinality(v_ids);
END
$$;
COMMENT ON FUNCTION ledger.expire_holds(text) IS
    'Void every pending hold past its expires_at (in one tenant, or all when NULL: those a tenant-bound role holds); returns how many; 22023 for an empty or over-long tenant. Run it periodically (pg_cron or pgbalance expire-holds).';
