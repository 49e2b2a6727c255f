-- The installed release is the same for every tenant: p_tenant only passes the access check
-- (a tenant-bound role may name one of its tenants, or none), so `SELECT * FROM
-- ledger.version()` works for everyone and the function keeps the house shape.
CREATE OR REPLACE FUNCTION ledger.version(p_tenant text DEFAULT NULL)
RETURNS TABLE (release text, last_migration text, installed_at timestamptz)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    RETURN QUERY
        SELECT r.release, r.last_migration, r.installed_at
          FROM ledger.release_history AS r
         ORDER BY r.release_id DESC
         LIMIT 1;
END
$$;
COMMENT ON FUNCTION ledger.version(text) IS
    'The installed pgbalance release, its newest migration and when it was installed (no row before the first install that records one); the same for every tenant, p_tenant (optional) is only access-checked. For the app and pgbalance_auditor.';
