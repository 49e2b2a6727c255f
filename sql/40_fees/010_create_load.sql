CREATE OR REPLACE FUNCTION fees.create_load(
    p_tenant text, p_load text, p_shipper text, p_carrier text, p_currency text)
RETURNS SETOF fees.load_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_claimed boolean;
    v_existing fees.load;
    v_mismatch text;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('load', p_load, false);
    PERFORM ledger._check_reference('shipper', p_shipper);
    PERFORM ledger._check_reference('carrier', p_carrier);
    PERFORM ledger._check_currency(p_currency);
    IF p_shipper = p_carrier THEN
        PERFORM ledger._raise('22023', 'shipper and carrier must be different wallets',
            format('shipper=%s carrier=%s', p_shipper, p_carrier));
    END IF;

    INSERT INTO fees.load AS l (tenant_id, load_id, shipper, carrier, currency)
    VALUES (p_tenant, p_load, p_shipper, p_carrier, p_currency)
    ON CONFLICT ON CONSTRAINT load_pkey DO NOTHING
    RETURNING true INTO v_claimed;
    IF v_claimed IS NULL THEN
        -- A separate statement: a fresh snapshot sees the load a concurrent call committed.
        SELECT * INTO v_existing FROM fees.load AS l
         WHERE l.tenant_id = p_tenant AND l.load_id = p_load;
        PERFORM ledger._check_definition('load', p_load,
            ARRAY[v_existing.shipper, v_existing.carrier, v_existing.currency],
            ARRAY[p_shipper, p_carrier, p_currency]);
        RETURN QUERY SELECT * FROM fees._load_out(p_tenant, p_load, true);
        RETURN;
    END IF;

    -- Both parties pay from their wallets, in the load's currency (PB005, then PB006).
    SELECT string_agg(format('%s=%s', w.party, a.currency), ' ')
      INTO v_mismatch
      FROM (VALUES ('shipper', wallet._account(p_tenant, p_shipper)),
                   ('carrier', wallet._account(p_tenant, p_carrier))) AS w(party, code)
      JOIN ledger._account_out(p_tenant, w.code) AS a ON true
     WHERE a.currency <> p_currency;
    IF v_mismatch IS NOT NULL THEN
        PERFORM ledger._raise('PB006', 'a wallet of the load is in another currency',
            format('load_currency=%s %s', p_currency, v_mismatch));
    END IF;
    PERFORM FROM ledger._open_account(p_tenant, fees._revenue_account(p_currency), p_currency,
        NULL, NULL, jsonb_build_object('workflow', 'fees', 'role', 'revenue'));
    RETURN QUERY SELECT * FROM fees._load_out(p_tenant, p_load, false);
END
$$;
COMMENT ON FUNCTION fees.create_load(text, text, text, text, text) IS
    'Create a load between the wallets of p_shipper and p_carrier (status CREATED, fee_status NONE). Same definition again -> the load, replayed; different -> PB003; PB005 unknown wallet; PB006 a wallet in another currency.';
