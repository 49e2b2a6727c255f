CREATE OR REPLACE FUNCTION ledger.hold(
    p_tenant text, p_key text, p_from text, p_to text, p_amount bigint,
    p_expires_at timestamptz DEFAULT NULL, p_metadata jsonb DEFAULT '{}')
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
    v_moved := ledger._post(p_tenant, p_key, ARRAY[p_from, p_to], ARRAY[-p_amount, p_amount],
        p_metadata, p_pending => true, p_expires_at => p_expires_at, p_one_currency => true,
        p_user => true);
    RETURN NEXT v_moved;
END
$$;
COMMENT ON FUNCTION ledger.hold(text, text, text, text, bigint, timestamptz, jsonb) IS
    'Reserve p_amount from p_from for p_to: raises p_from.pending_out and p_to.pending_in (status pending) until ledger.capture, ledger.void or expiry. Idempotent by p_key.';
