-- Approve and reject change what submit_payment counts as pending, so they take the
-- assessment's lock first, like submit_payment, then the payment's.
CREATE OR REPLACE FUNCTION tuition._lock_payment(p_tenant text, p_payment_id bigint)
RETURNS tuition.payment
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_assessment_id bigint;
    v_payment tuition.payment;
BEGIN
    SELECT p.assessment_id INTO v_assessment_id FROM tuition.payment AS p
     WHERE p.tenant_id = p_tenant AND p.payment_id = p_payment_id;
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'payment not found', format('payment_id=%s', p_payment_id));
    END IF;
    PERFORM FROM tuition.assessment AS a
     WHERE a.tenant_id = p_tenant AND a.assessment_id = v_assessment_id
       FOR UPDATE;
    -- A new statement: it sees a decision committed while this call waited for the lock.
    SELECT * INTO v_payment FROM tuition.payment AS p
     WHERE p.tenant_id = p_tenant AND p.payment_id = p_payment_id
       FOR UPDATE;
    RETURN v_payment;
END
$$;
COMMENT ON FUNCTION tuition._lock_payment(text, bigint) IS
    'Private: lock a payment''s assessment, then the payment (PB005 if unknown in the tenant); returns it as committed.';
