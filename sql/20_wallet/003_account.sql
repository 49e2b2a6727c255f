-- For workflows that move wallet money themselves (fees): the wallet's kernel account code.
CREATE OR REPLACE FUNCTION wallet._account(p_tenant text, p_user text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_code text;
BEGIN
    SELECT w.account_code INTO v_code FROM wallet.wallet AS w
     WHERE w.tenant_id = p_tenant AND w.user_id = p_user;
    IF v_code IS NULL THEN
        PERFORM ledger._raise('PB005', 'wallet not found', format('user=%s', p_user),
            'Open it first with wallet.open.');
    END IF;
    RETURN v_code;
END
$$;
COMMENT ON FUNCTION wallet._account(text, text) IS
    'Private: the kernel account code of a wallet (pgb:wallet:<user>), PB005 if the user has no wallet in this tenant.';
