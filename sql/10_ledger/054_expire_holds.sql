CREATE OR REPLACE FUNCTION ledger.expire_holds(p_tenant text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_entries ledger.entry[];
    v_entry ledger.entry;
    -- NULL by a tenant-bound role: only its tenants (NULL: every tenant).
    v_tenants text[];
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    IF p_tenant IS NULL THEN
        v_tenants := ledger._granted_tenants();
    END IF;
    -- Entries first (skipping those a capture or void is working on), then every account
    -- they touch in one global order, so this never deadlocks with other calls.
    SELECT array_agg(x) INTO v_entries FROM (
        SELECT e.* FROM ledger.entry AS e
         WHERE e.status = 'pending' AND e.expires_at <= clock_timestamp()
           AND (p_tenant IS NULL OR e.tenant_id = p_tenant)
           AND (v_tenants IS NULL OR e.tenant_id = ANY(v_tenants))
         ORDER BY e.tenant_id, e.entry_id
           FOR UPDATE SKIP LOCKED) AS x;
    IF v_entries IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM FROM ledger.account AS a
     WHERE (a.tenant_id, a.account_id) IN (
            SELECT p.tenant_id, p.account_id FROM ledger.posting AS p
              JOIN unnest(v_entries) AS e ON p.tenant_id = e.tenant_id AND p.entry_id = e.entry_id)
     ORDER BY a.account_id
       FOR NO KEY UPDATE;
    -- The holds are released one statement each, so the stripes of striped accounts
    -- (ledger._apply_postings writes those last, in account_id order, on stripe
    -- txid_current() % stripes) are locked here first, in that order, created empty if missing.
    INSERT INTO ledger.account_stripe AS s (tenant_id, account_id, stripe_no)
    SELECT a.tenant_id, a.account_id, (txid_current() % a.stripes)::smallint
      FROM ledger.account AS a
     WHERE (a.tenant_id, a.account_id) IN (
            SELECT p.tenant_id, p.account_id FROM ledger.posting AS p
              JOIN unnest(v_entries) AS e ON p.tenant_id = e.tenant_id AND p.entry_id = e.entry_id)
       AND a.stripes > 0
     ORDER BY a.account_id
        ON CONFLICT ON CONSTRAINT account_stripe_pkey DO UPDATE SET stripe_no = s.stripe_no;
    FOREACH v_entry IN ARRAY v_entries LOOP
        PERFORM ledger._release_hold(v_entry.tenant_id, v_entry.entry_id, NULL);
    END LOOP;
    UPDATE ledger.entry AS e SET status = 'voided'
      FROM unnest(v_entries) AS x
     WHERE e.tenant_id = x.tenant_id AND e.entry_id = x.entry_id;
    RETURN cardinality(v_entries);
END
$$;
COMMENT ON FUNCTION ledger.expire_holds(text) IS
    'Void every pending hold past its expires_at (in one tenant, or all when NULL: those a tenant-bound role holds); returns how many. Run it periodically (pg_cron or pgbalance expire-holds).';
