-- A tenant without a seal is recomputed whole (ledger._verify_all); a sealed one is checked
-- from its last seal on (ledger._verify_recent) plus its chain's links, so the cost follows
-- what came after the seal. ledger.verify_full re-checks everything. NULL spans tenants (a tenant-bound role's own).
CREATE OR REPLACE FUNCTION ledger.verify(p_tenant text DEFAULT NULL)
RETURNS SETOF ledger.verify_result
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant text;
    -- NULL by a tenant-bound role: only its tenants (NULL: every tenant).
    v_tenants text[];
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    IF p_tenant IS NULL THEN
        v_tenants := ledger._granted_tenants();
    END IF;
    -- SELECT 1, not an empty target list: spanning tenants on Citus, the subquery becomes a
    -- subplan whose zero-column intermediate result Citus cannot read back.
    IF NOT EXISTS (SELECT 1 FROM ledger.seal AS s WHERE p_tenant IS NULL OR s.tenant_id = p_tenant) THEN
        RETURN QUERY SELECT * FROM ledger._verify_all(p_tenant);
        RETURN;
    END IF;
    FOR v_tenant IN
        SELECT DISTINCT a.tenant_id FROM ledger.account AS a
         WHERE (p_tenant IS NULL OR a.tenant_id = p_tenant)
           AND (v_tenants IS NULL OR a.tenant_id = ANY (v_tenants))
         ORDER BY a.tenant_id
    LOOP
        IF EXISTS (SELECT FROM ledger.seal AS s WHERE s.tenant_id = v_tenant) THEN
            RETURN QUERY SELECT * FROM ledger._verify_links(v_tenant);
            RETURN QUERY SELECT * FROM ledger._verify_recent(v_tenant);
        ELSE
            RETURN QUERY SELECT * FROM ledger._verify_all(v_tenant);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION ledger.verify(text) IS
    'Check the ledger against its postings (NULL: every tenant). Unsealed tenants are recomputed whole; a sealed one from its last seal on (accounts from their checkpoints, entries touched since) plus its chain''s links. ledger.verify_full re-checks everything, seals included. No rows = consistent. For the owner and pgbalance_auditor.';
