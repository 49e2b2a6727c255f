CREATE OR REPLACE FUNCTION wallet.purchase(
    p_tenant text, p_user text, p_amount bigint, p_reference text, p_items jsonb DEFAULT '[]')
RETURNS SETOF wallet.tx_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    RETURN QUERY SELECT * FROM wallet._move(p_tenant, p_user, 'purchase', p_amount, p_reference, p_items);
END
$$;
COMMENT ON FUNCTION wallet.purchase(text, text, bigint, text, jsonb) IS
    'Pay p_amount (> 0) from the wallet of p_user to the tenant''s revenue account, idempotent by p_reference: same user and amount -> replayed (items do not count), different -> PB003. PB001 if the wallet cannot pay (its balance never goes below 0), PB005 unknown wallet, PB007 closed wallet account, 22023 malformed input (items must be a JSON array).';
