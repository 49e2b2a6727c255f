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
    -- The engine itself, not its one-item wrapper ledger._post: the busiest call saves a
    -- PL/pgSQL frame (1% of its instructions, docs/performance.md). An expression, not a
    -- query: the row comes back without executor start-up.
    v_moved := ledger._move(p_tenant, ARRAY[p_key], ARRAY[p_metadata], NULL, '{1,1}',
        ARRAY[p_from, p_to], ARRAY[-p_amount, p_amount], p_pending => false,
        p_expires_at => NULL, p_one_currency => true, p_user => true, p_on_error => 'raise');
    RETURN NEXT (v_moved.entry_ids[1], v_moved.statuses[1], v_moved.replayed[1])::ledger.movement_result;
END
$$;
COMMENT ON FUNCTION ledger.transfer(text, text, text, text, bigint, jsonb) IS
    'Move p_amount (minor units, > 0) from p_from to p_to in one currency, idempotent by p_key. PB001 below the floor, PB002 above the ceiling, PB005 unknown account, PB006 currency mismatch, PB007 closed account, PB003 key reused with other parameters.';
