CREATE OR REPLACE FUNCTION fees.refund_service_fee(p_tenant text, p_load text, p_reason text DEFAULT NULL)
RETURNS SETOF fees.load_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_load fees.load;
    v_entry_id bigint;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('load', p_load, false);
    PERFORM ledger._check_text('reason', p_reason);

    v_load := fees._lock_load(p_tenant, p_load);
    IF v_load.fee_status = 'REFUNDED' THEN
        RETURN QUERY SELECT * FROM fees._load_out(p_tenant, p_load, true);
        RETURN;
    END IF;
    IF v_load.fee_status = 'NONE' THEN
        PERFORM ledger._raise('PB004', 'no service fee was deducted for this load',
            format('load=%s fee_status=%s', p_load, v_load.fee_status));
    END IF;

    -- The kernel reversal of the fee entry: every wallet gets back what it paid.
    SELECT e.entry_id INTO v_entry_id
      FROM ledger._reverse(p_tenant, format('pgb:fees:%s:refund', v_load.load_no), v_load.fee_entry_id,
                           NULL, jsonb_build_object('workflow', 'fees', 'load', p_load, 'reason', p_reason),
                           false) AS e;
    UPDATE fees.load AS l
       SET fee_status = 'REFUNDED', refund_entry_id = v_entry_id, refund_reason = p_reason
     WHERE l.tenant_id = p_tenant AND l.load_id = p_load;
    RETURN QUERY SELECT * FROM fees._load_out(p_tenant, p_load, false);
END
$$;
COMMENT ON FUNCTION fees.refund_service_fee(text, text, text) IS
    'Refund the deducted service fees of a load: the kernel reversal of its fee entry, exactly once. Again -> replayed; before a deduction -> PB004; PB005 unknown load.';
