CREATE OR REPLACE FUNCTION ledger.capture(p_tenant text, p_entry_id bigint, p_amount bigint DEFAULT NULL)
RETURNS SETOF ledger.movement_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    RETURN QUERY SELECT * FROM ledger._capture(p_tenant, p_entry_id, p_amount, true);
END
$$;
COMMENT ON FUNCTION ledger.capture(text, bigint, bigint) IS
    'Post a pending hold: all of it, or p_amount of a two-leg hold (the rest is released). Again with NULL or the same amount -> replayed; another amount -> PB003; voided or expired -> PB004; above the hold -> PB002. A workflow''s hold (key pgb:...) -> PB004: its workflow settles it.';
