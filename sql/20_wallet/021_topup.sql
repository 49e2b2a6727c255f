CREATE OR REPLACE FUNCTION wallet.topup(p_tenant text, p_user text, p_amount bigint, p_reference text)
RETURNS SETOF wallet.tx_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    RETURN QUERY SELECT * FROM wallet._move(p_tenant, p_user, 'topup', p_amount, p_reference, NULL);
END
$$;
COMMENT ON FUNCTION wallet.topup(text, text, bigint, text) IS
    'Add p_amount (> 0) to the wallet of p_user from the tenant''s funding account, idempotent by p_reference (unique per tenant across top-ups and purchases): same user and amount -> replayed, different -> PB003. PB005 unknown wallet, PB007 closed wallet account, 22023 malformed input.';
