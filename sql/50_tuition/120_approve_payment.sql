CREATE OR REPLACE FUNCTION tuition.approve_payment(p_tenant text, p_payment_id bigint, p_approver text DEFAULT NULL)
RETURNS SETOF tuition.payment_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    IF p_payment_id IS NULL THEN
        PERFORM ledger._raise('22023', 'payment_id must not be NULL');
    END IF;
    PERFORM ledger._check_text('approver', p_approver, false);
    RETURN QUERY SELECT * FROM tuition._decide_payment(p_tenant, p_payment_id, 'paid', p_approver, NULL);
END
$$;
COMMENT ON FUNCTION tuition.approve_payment(text, bigint, text) IS
    'Approve a payment awaiting approval: its hold is captured and its allocations become paid, exactly once. Again -> replayed; rejected -> PB004; unknown -> PB005.';
