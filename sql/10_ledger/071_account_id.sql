CREATE OR REPLACE FUNCTION ledger._account_id(p_tenant text, p_code text)
RETURNS bigint
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id bigint;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('code', p_code, false);
    SELECT a.account_id INTO v_id FROM ledger.account AS a
     WHERE a.tenant_id = p_tenant AND a.code = p_code;
    IF v_id IS NULL THEN
        PERFORM ledger._raise('PB005', 'account not found', format('account=%s', p_code));
    END IF;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION ledger._account_id(text, text) IS 'Private: the account id of a code, PB005 if unknown.';
