CREATE OR REPLACE FUNCTION wallet.fail_purchase(p_tenant text, p_reference text, p_reason text DEFAULT NULL)
RETURNS SETOF wallet.tx_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_now timestamptz;
    v_tx wallet.tx;
    v_refund_id bigint;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_reference('reference', p_reference);
    PERFORM ledger._check_text('reason', p_reason);

    -- The purchase row first: concurrent failures of one purchase queue here.
    SELECT * INTO v_tx FROM wallet.tx AS t
     WHERE t.tenant_id = p_tenant AND t.reference = p_reference
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'purchase not found', format('reference=%s', p_reference));
    END IF;
    IF v_tx.status = 'failed' THEN
        RETURN QUERY SELECT * FROM wallet._tx_out(p_tenant, p_reference, true);
        RETURN;
    END IF;
    IF v_tx.kind <> 'purchase' THEN
        PERFORM ledger._raise('PB004', 'only a purchase can fail',
            format('reference=%s kind=%s', p_reference, v_tx.kind));
    END IF;

    -- Refunded through the kernel under a key derived from the reference: exactly once.
    SELECT e.entry_id INTO v_refund_id
      FROM ledger._reverse(p_tenant, 'pgb:wallet:refund:' || p_reference, v_tx.entry_id, NULL,
                           jsonb_build_object('workflow', 'wallet', 'kind', 'refund',
                                              'user', v_tx.user_id, 'reference', p_reference,
                                              'reason', p_reason),
                           false) AS e;
    v_now := clock_timestamp();  -- not in the UPDATE: Citus refuses VOLATILE calls there
    UPDATE wallet.tx AS t
       SET status = 'failed', refund_entry_id = v_refund_id, failure_reason = p_reason,
           failed_at = v_now
     WHERE t.tenant_id = p_tenant AND t.reference = p_reference;
    RETURN QUERY SELECT * FROM wallet._tx_out(p_tenant, p_reference, false);
END
$$;
COMMENT ON FUNCTION wallet.fail_purchase(text, text, text) IS
    'Mark the purchase p_reference failed and refund it to the wallet exactly once (a kernel reversal); again -> replayed. PB005 unknown reference, PB004 for a top-up, PB007 if the wallet account was closed since, 22023 malformed input.';
