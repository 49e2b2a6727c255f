-- Every call that changes a load takes its row lock first (before any key or account).
CREATE OR REPLACE FUNCTION fees._lock_load(p_tenant text, p_load text)
RETURNS fees.load
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_load fees.load;
BEGIN
    SELECT * INTO v_load FROM fees.load AS l
     WHERE l.tenant_id = p_tenant AND l.load_id = p_load
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'load not found', format('load=%s', p_load),
            'Create it first with fees.create_load.');
    END IF;
    RETURN v_load;
END
$$;
COMMENT ON FUNCTION fees._lock_load(text, text) IS
    'Private: lock a load row and return it as committed; PB005 if unknown in the tenant.';
