CREATE OR REPLACE FUNCTION wallet.balance(p_tenant text, p_user text)
RETURNS SETOF wallet.wallet_result
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('user', p_user, false);
    RETURN QUERY SELECT * FROM wallet._wallet_out(p_tenant, p_user);
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'wallet not found', format('user=%s', p_user),
            'Open it first with wallet.open.');
    END IF;
END
$$;
COMMENT ON FUNCTION wallet.balance(text, text) IS
    'The wallet of p_user: currency, balance and available (balance minus pending debits); PB005 if the user has no wallet in this tenant.';
