CREATE OR REPLACE FUNCTION ledger.open_account(
    p_tenant text, p_code text, p_currency text,
    p_min_balance bigint DEFAULT 0, p_max_balance bigint DEFAULT NULL,
    p_metadata jsonb DEFAULT '{}')
RETURNS SETOF ledger.account_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('code', p_code);
    RETURN QUERY SELECT * FROM ledger._open_account(p_tenant, p_code, p_currency, p_min_balance,
        p_max_balance, p_metadata);
END
$$;
COMMENT ON FUNCTION ledger.open_account(text, text, text, bigint, bigint, jsonb) IS
    'Open an account with a floor (min_balance, default 0, NULL = none) and a ceiling (max_balance, NULL = none). Opening the same code again with the same definition returns it; a different definition raises PB003.';
