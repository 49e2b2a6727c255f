CREATE OR REPLACE FUNCTION ledger.get_account(p_tenant text, p_code text)
RETURNS SETOF ledger.account_result
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('code', p_code, false);
    RETURN QUERY SELECT * FROM ledger._account_out(p_tenant, p_code);
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'account not found', format('account=%s', p_code));
    END IF;
END
$$;
COMMENT ON FUNCTION ledger.get_account(text, text) IS
    'The account with its balance, pending columns and available = balance - pending_out; PB005 if unknown in this tenant.';
