CREATE OR REPLACE FUNCTION ledger.void(p_tenant text, p_entry_id bigint)
RETURNS SETOF ledger.movement_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    RETURN QUERY SELECT * FROM ledger._void(p_tenant, p_entry_id, true);
END
$$;
COMMENT ON FUNCTION ledger.void(text, bigint) IS
    'Release a pending hold (status voided); again -> replayed; a posted one -> PB004. A workflow''s hold (key pgb:...) -> PB004: its workflow settles it.';
