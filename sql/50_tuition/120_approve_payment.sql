CREATE OR REPLACE FUNCTION tuition.approve_payment(p_tenant text, p_payment_id bigint, p_approver text DEFAULT NULL)
RETURNS SETOF tuition.payment_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_now timestamptz;
    v_payment tuition.payment;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    IF p_payment_id IS NULL THEN
        PERFORM ledger._raise('22023', 'payment_id must not be NULL');
    END IF;
    PERFORM ledger._check_text('approver', p_approver, false);

    v_payment := tuition._lock_payment(p_tenant, p_payment_id);
    IF v_payment.status = 'paid' THEN
        RETURN QUERY SELECT * FROM tuition._payment_out(p_tenant, p_payment_id, true);
        RETURN;
    END IF;
    IF v_payment.status = 'rejected' THEN
        PERFORM ledger._raise('PB004', 'a rejected payment cannot be approved',
            format('payment_id=%s status=%s', p_payment_id, v_payment.status),
            'Submit a new payment instead.');
    END IF;

    PERFORM ledger._capture(p_tenant, v_payment.hold_entry_id, NULL, false);
    v_now := clock_timestamp();  -- not in the UPDATE: Citus refuses VOLATILE calls there
    UPDATE tuition.payment AS p
       SET status = 'paid', approver = p_approver, decided_at = v_now
     WHERE p.tenant_id = p_tenant AND p.payment_id = p_payment_id;
    RETURN QUERY SELECT * FROM tuition._payment_out(p_tenant, p_payment_id, false);
END
$$;
COMMENT ON FUNCTION tuition.approve_payment(text, bigint, text) IS
    'Approve a payment awaiting approval: its hold is captured and its allocations become paid, exactly once. Again -> replayed; rejected -> PB004; unknown -> PB005.';
