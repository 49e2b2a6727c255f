CREATE OR REPLACE FUNCTION ledger.revoke_tenant(p_tenant text, p_role name)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_role_id oid;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    IF p_role IS NULL THEN
        PERFORM ledger._raise('22023', 'role must not be NULL');
    END IF;
    v_role_id := (SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname = p_role);
    -- The row stays (revoked_at): a role whose last tenant is revoked remains bound, to none.
    UPDATE ledger.tenant_grant AS g SET revoked_at = now()
     WHERE g.tenant_id = p_tenant AND g.role_id = v_role_id AND g.revoked_at IS NULL;
END
$$;
COMMENT ON FUNCTION ledger.revoke_tenant(text, name) IS
    'Take p_tenant from p_role (a no-op if it does not hold it). The role stays tenant-bound: revoking its last tenant leaves it bound to none, never unbound. Not executable by pgbalance_app.';
