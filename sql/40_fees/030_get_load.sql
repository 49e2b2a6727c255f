CREATE OR REPLACE FUNCTION fees.get_load(p_tenant text, p_load text)
RETURNS SETOF fees.load_result
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('load', p_load, false);
    RETURN QUERY SELECT * FROM fees._load_out(p_tenant, p_load, false);
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'load not found', format('load=%s', p_load));
    END IF;
END
$$;
COMMENT ON FUNCTION fees.get_load(text, text) IS 'The load with its status and fees; PB005 if unknown in this tenant.';
