CREATE OR REPLACE FUNCTION fees.complete_load(p_tenant text, p_load text)
RETURNS SETOF fees.load_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_now timestamptz;
    v_load fees.load;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('load', p_load, false);
    v_load := fees._lock_load(p_tenant, p_load);
    IF v_load.status = 'COMPLETED' THEN
        RETURN QUERY SELECT * FROM fees._load_out(p_tenant, p_load, true);
        RETURN;
    END IF;
    v_now := clock_timestamp();  -- not in the UPDATE: Citus refuses VOLATILE calls there
    UPDATE fees.load AS l SET status = 'COMPLETED', completed_at = v_now
     WHERE l.tenant_id = p_tenant AND l.load_id = p_load;
    RETURN QUERY SELECT * FROM fees._load_out(p_tenant, p_load, false);
END
$$;
COMMENT ON FUNCTION fees.complete_load(text, text) IS
    'Mark a load COMPLETED; it never depends on fees (they are deducted separately). Again -> the load unchanged, replayed; PB005 unknown load.';
