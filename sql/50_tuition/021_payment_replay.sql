-- Called once a reference is known to be taken. A separate statement from the claim, so
-- under READ COMMITTED it sees the winner's committed payment.
CREATE OR REPLACE FUNCTION tuition._payment_replay(
    p_tenant text, p_reference text, p_assessment_id bigint, p_term_no int, p_amount bigint)
RETURNS SETOF tuition.payment_result
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_payment tuition.payment;
BEGIN
    SELECT * INTO v_payment FROM tuition.payment AS p
     WHERE p.tenant_id = p_tenant AND p.reference = p_reference;
    IF (v_payment.assessment_id, v_payment.term_no, v_payment.amount)
       IS DISTINCT FROM (p_assessment_id, p_term_no, p_amount) THEN
        PERFORM ledger._raise('PB003', 'payment reference reused with different parameters',
            format('reference=%s payment_id=%s term_no=%s amount=%s requested_term_no=%s requested_amount=%s',
                   p_reference, v_payment.payment_id, v_payment.term_no, v_payment.amount,
                   p_term_no, p_amount),
            'Use a new reference for a new payment; retry with exactly the same parameters.');
    END IF;
    RETURN QUERY SELECT * FROM tuition._payment_out(p_tenant, v_payment.payment_id, true);
END
$$;
COMMENT ON FUNCTION tuition._payment_replay(text, text, bigint, int, bigint) IS
    'Private: the payment already holding this reference, replayed, or PB003 when student, term or amount differ.';
