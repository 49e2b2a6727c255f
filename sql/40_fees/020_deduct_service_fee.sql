CREATE OR REPLACE FUNCTION fees.deduct_service_fee(
    p_tenant text, p_load text, p_shipper_fee bigint, p_carrier_fee bigint)
RETURNS SETOF fees.load_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    c_bigint_max CONSTANT numeric := 9223372036854775807;  -- the largest amount a posting holds
    v_load fees.load;
    v_codes text[];
    v_amounts bigint[];
    v_entry_id bigint;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('load', p_load, false);
    IF p_shipper_fee IS NULL OR p_carrier_fee IS NULL OR p_shipper_fee < 0 OR p_carrier_fee < 0 THEN
        PERFORM ledger._raise('22023', 'fees must be >= 0',
            format('shipper_fee=%s carrier_fee=%s', coalesce(p_shipper_fee::text, 'NULL'),
                   coalesce(p_carrier_fee::text, 'NULL')));
    END IF;
    IF p_shipper_fee::numeric + p_carrier_fee NOT BETWEEN 1 AND c_bigint_max THEN
        PERFORM ledger._raise('22023', 'the fees must add up to a positive bigint',
            format('shipper_fee=%s carrier_fee=%s', p_shipper_fee, p_carrier_fee));
    END IF;

    v_load := fees._lock_load(p_tenant, p_load);
    IF v_load.fee_status <> 'NONE' THEN
        IF (v_load.shipper_fee, v_load.carrier_fee) <> (p_shipper_fee, p_carrier_fee) THEN
            PERFORM ledger._raise('PB003', 'service fee already deducted with different fees',
                format('load=%s deducted=(%s,%s) requested=(%s,%s)', p_load, v_load.shipper_fee,
                       v_load.carrier_fee, p_shipper_fee, p_carrier_fee));
        END IF;
        RETURN QUERY SELECT * FROM fees._load_out(p_tenant, p_load, true);
        RETURN;
    END IF;
    IF v_load.status <> 'COMPLETED' THEN
        PERFORM ledger._raise('PB004', 'service fees are deducted from completed loads only',
            format('load=%s status=%s', p_load, v_load.status), 'Complete it first with fees.complete_load.');
    END IF;

    -- One entry: both wallets down, revenue up; a zero fee is no leg at all.
    SELECT array_agg(u.code ORDER BY u.ord), array_agg(u.amount ORDER BY u.ord)
      INTO v_codes, v_amounts
      FROM unnest(ARRAY[wallet._account(p_tenant, v_load.shipper),
                        wallet._account(p_tenant, v_load.carrier),
                        fees._revenue_account(v_load.currency)],
                  ARRAY[-p_shipper_fee, -p_carrier_fee, p_shipper_fee + p_carrier_fee])
           WITH ORDINALITY AS u(code, amount, ord)
     WHERE u.amount <> 0;
    SELECT e.entry_id INTO v_entry_id
      FROM ledger._post(p_tenant, format('pgb:fees:%s:fee', v_load.load_no), v_codes, v_amounts,
                        jsonb_build_object('workflow', 'fees', 'load', p_load,
                                           'shipper_fee', p_shipper_fee, 'carrier_fee', p_carrier_fee),
                        p_pending => false, p_expires_at => NULL, p_one_currency => true, p_user => false) AS e;
    UPDATE fees.load AS l
       SET fee_status = 'DEDUCTED', shipper_fee = p_shipper_fee, carrier_fee = p_carrier_fee,
           fee_entry_id = v_entry_id
     WHERE l.tenant_id = p_tenant AND l.load_id = p_load;
    RETURN QUERY SELECT * FROM fees._load_out(p_tenant, p_load, false);
END
$$;
COMMENT ON FUNCTION fees.deduct_service_fee(text, text, bigint, bigint) IS
    'Deduct the service fees of a COMPLETED load (PB004 otherwise): one ledger entry debits the shipper''s and carrier''s wallets and credits platform revenue, with the load update, or nothing (PB001 if a wallet cannot pay). Fees >= 0 with a positive total (22023). Again -> replayed; different fees -> PB003.';
