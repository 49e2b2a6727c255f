-- A tenant exists once it has an account: callers that take a tenant from configuration (the
-- CLI's `verify --tenant`, a cron job) ask here first, so a typo is PB005 instead of an
-- empty, "consistent" verify.
CREATE OR REPLACE FUNCTION ledger.get_tenant(p_tenant text)
RETURNS TABLE (tenant text, accounts bigint, open_accounts bigint)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    RETURN QUERY
        SELECT p_tenant, count(*), count(*) FILTER (WHERE a.closed_at IS NULL)
          FROM ledger.account AS a
         WHERE a.tenant_id = p_tenant
        HAVING count(*) > 0;
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'tenant not found', format('tenant=%s', p_tenant),
            'A tenant exists once it has an account (ledger.open_account).');
    END IF;
END
$$;
COMMENT ON FUNCTION ledger.get_tenant(text) IS
    'The tenant with its number of accounts (all, and not closed); PB005 if it has no account. For the app and pgbalance_auditor.';
