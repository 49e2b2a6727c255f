CREATE OR REPLACE FUNCTION fees.platform_revenue(p_tenant text, p_currency text)
RETURNS bigint
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_currency(p_currency);
    RETURN coalesce((SELECT a.balance FROM ledger._account_out(p_tenant, fees._revenue_account(p_currency)) AS a), 0);
END
$$;
COMMENT ON FUNCTION fees.platform_revenue(text, text) IS
    'Service fees kept by the platform in p_currency (deducted minus refunded); 0 before any fee.';
