CREATE OR REPLACE FUNCTION ledger._granted_tenants()
RETURNS text[]
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN count(*) > 0
                THEN coalesce(array_agg(g.tenant_id ORDER BY g.tenant_id)
                              FILTER (WHERE g.revoked_at IS NULL), '{}') END
      FROM ledger.tenant_grant AS g WHERE g.role_id = pg_catalog.quote_ident(session_user)::regrole
$$;
COMMENT ON FUNCTION ledger._granted_tenants() IS
    'Private: the tenants the session_user holds; NULL when it is unbound (never granted one: every tenant), empty when bound to none. Narrows the all-tenant calls expire_holds(NULL) and verify(NULL).';
