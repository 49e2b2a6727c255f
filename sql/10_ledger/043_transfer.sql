CREATE OR REPLACE FUNCTION ledger.transfer(
    p_tenant text, p_key text, p_from text, p_to text, p_amount bigint,
    p_metadata jsonb DEFAULT '{}')
RETURNS SETOF ledger.movement_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_moved record;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_amount('amount', p_amount);
    -- An expression, not a query: the engine's row comes back without executor start-up.
    v_moved := ledger._post(p_tenant, p_key, ARRAY[p_from, p_to], ARRAY[-p_amount, p_amount],
        p_metadata, p_pending => false, p_expires_at => NULL, p_one_currency => true,
        p_user => true);
    RETURN NEXT v_moved;
END
$$;
COMMENT ON FUNCTION ledger.transfer(text, text, text, text, bigint, jsonb) IS
    'Move p_amount (minor units, > 0) from p_from to p_to in one currency, idempotent by p_key. PB001 below the floor, PB002 above the ceiling, PB005 unknown account, PB006 currency mismatch, PB007 closed account, PB003 key reused with other parameters.';
