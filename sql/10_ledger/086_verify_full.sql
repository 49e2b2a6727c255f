CREATE OR REPLACE FUNCTION ledger.verify_full(p_tenant text DEFAULT NULL)
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
    RETURN QUERY SELECT * FROM ledger._verify_all(p_tenant);
    FOR v_tenant IN
        SELECT DISTINCT s.tenant_id FROM ledger.seal AS s
         WHERE (p_tenant IS NULL OR s.tenant_id = p_tenant)
           AND (v_tenants IS NULL OR s.tenant_id = ANY (v_tenants))
         ORDER BY s.tenant_id
    LOOP
        RETURN QUERY SELECT * FROM ledger._verify_links(v_tenant);
        RETURN QUERY SELECT * FROM ledger._verify_chain(v_tenant, NULL);
        RETURN QUERY SELECT * FROM ledger._verify_checkpoints(v_tenant);
    END LOOP;
END
$$;
COMMENT ON FUNCTION ledger.verify_full(text) IS
    'Re-check everything (NULL: every tenant): ledger.verify''s checks over the whole history, every seal''s digest recomputed from the rows it sealed, every checkpoint against the postings before its horizon. No rows = consistent. For the owner and pgbalance_auditor; linear in history.';
