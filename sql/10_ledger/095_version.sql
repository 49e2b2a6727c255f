-- The one public function without p_tenant: the installed release is the same for every
-- tenant (tests/dba/test_catalog.py lists it in TENANTLESS_FUNCTIONS).
CREATE OR REPLACE FUNCTION ledger.version()
RETURNS TABLE (release text, last_migration text, installed_at timestamptz)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.release, r.last_migration, r.installed_at
      FROM ledger.release_history AS r
     ORDER BY r.release_id DESC
     LIMIT 1
$$;
COMMENT ON FUNCTION ledger.version() IS
    'The installed pgbalance release, its newest migration and when it was installed (no row before the first install records one). For the app and pgbalance_auditor.';
