CREATE OR REPLACE FUNCTION ledger.grant_tenant(p_tenant text, p_role name)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- Not in the statement: Citus refuses a non-IMMUTABLE call in ON CONFLICT DO UPDATE.
    v_now timestamptz := now();
    v_role_id oid;
    v_login boolean;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    SELECT r.oid, r.rolcanlogin INTO v_role_id, v_login
      FROM pg_catalog.pg_roles AS r WHERE r.rolname = p_role;
    IF v_role_id IS NULL THEN
        PERFORM ledger._raise('22023', 'role does not exist', format('role=%s', coalesce(p_role::text, 'NULL')),
            'Grant a tenant to an existing login role (CREATE ROLE ... LOGIN IN ROLE pgbalance_app).');
    END IF;
    -- The check compares the session_user: a role that cannot log in never is one, so a
    -- grant to it (pgbalance_app, a group) would bind no one.
    IF NOT v_login THEN
        PERFORM ledger._raise('22023', 'role cannot log in', format('role=%s', p_role),
            'Grant tenants to each login role the application connects as (CREATE ROLE ... LOGIN IN ROLE pgbalance_app), not to a group role.');
    END IF;
    -- By OID: a renamed role keeps its grants, a re-created one of the same name starts
    -- unbound. Granting again is a no-op; granting a revoked tenant again restores it.
    INSERT INTO ledger.tenant_grant AS g (tenant_id, role_id, role_name)
    VALUES (p_tenant, v_role_id, p_role::text)
    ON CONFLICT ON CONSTRAINT tenant_grant_pkey DO UPDATE
       SET revoked_at = NULL, granted_at = v_now, role_name = excluded.role_name
     WHERE g.revoked_at IS NOT NULL;
END
$$;
COMMENT ON FUNCTION ledger.grant_tenant(text, name) IS
    'Let p_role act on p_tenant. A role granted any tenant is tenant-bound: as the session_user it reaches only the tenants it holds (42501 elsewhere). Granting again changes nothing. Not executable by pgbalance_app; 22023 for an unknown role or one that cannot log in.';
