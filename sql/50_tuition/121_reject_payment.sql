CREATE OR REPLACE FUNCTION tuition.reject_payment(p_tenant text, p_payment_id bigint, p_reason text DEFAULT NULL)
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
    PERFORM ledger._check_text('reason', p_reason);
    RETURN QUERY SELECT * FROM tuition._decide_payment(p_tenant, p_payment_id, 'rejected', NULL, p_reason);
END
$$;
COMMENT ON FUNCTION tuition.reject_payment(text, bigint, text) IS
    'Reject a payment awaiting approval: its hold is voided and its terms can be paid again. Again -> replayed; paid -> PB004; unknown -> PB005.';
