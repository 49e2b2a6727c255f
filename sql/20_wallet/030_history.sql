CREATE OR REPLACE FUNCTION wallet.history(p_tenant text, p_user text)
RETURNS SETOF wallet.tx_result
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('user', p_user, false);
    IF NOT EXISTS (SELECT FROM wallet.wallet AS w WHERE w.tenant_id = p_tenant AND w.user_id = p_user) THEN
        PERFORM ledger._raise('PB005', 'wallet not found', format('user=%s', p_user),
            'Open it first with wallet.open.');
    END IF;
    RETURN QUERY
        SELECT t.reference, t.user_id, t.kind, t.amount, t.status, false
          FROM wallet.tx AS t
         WHERE t.tenant_id = p_tenant AND t.user_id = p_user
         ORDER BY t.tx_no;
END
$$;
COMMENT ON FUNCTION wallet.history(text, text) IS
    'Top-ups and purchases of p_user''s wallet, oldest first (replayed is false); PB005 if the user has no wallet in this tenant.';
