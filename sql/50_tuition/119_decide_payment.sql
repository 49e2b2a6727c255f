-- Approving and rejecting are one decision on a payment awaiting approval: its hold is
-- captured (paid) or voided (rejected) and the payment records who approved or why it was
-- rejected, exactly once. The same decision again replays; the other one is PB004.
CREATE OR REPLACE FUNCTION tuition._decide_payment(
    p_tenant text, p_payment_id bigint, p_status text, p_approver text, p_reason text)
RETURNS SETOF tuition.payment_result
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now timestamptz;
    v_payment tuition.payment;
BEGIN
    v_payment := tuition._lock_payment(p_tenant, p_payment_id);
    IF v_payment.status = p_status THEN
        RETURN QUERY SELECT * FROM tuition._payment_out(p_tenant, p_payment_id, true);
        RETURN;
    END IF;
    IF v_payment.status = 'rejected' THEN
        PERFORM ledger._raise('PB004', 'a rejected payment cannot be approved',
            format('payment_id=%s status=%s', p_payment_id, v_payment.status),
            'Submit a new payment instead.');
    ELSIF v_payment.status = 'paid' THEN
        PERFORM ledger._raise('PB004', 'a paid payment cannot be rejected',
            format('payment_id=%s status=%s', p_payment_id, v_payment.status));
    END IF;

    IF p_status = 'paid' THEN
        PERFORM ledger._capture(p_tenant, v_payment.hold_entry_id, NULL, false);
    ELSE
        PERFORM ledger._void(p_tenant, v_payment.hold_entry_id, false);
    END IF;
    v_now := clock_timestamp();  -- not in the UPDATE: Citus refuses VOLATILE calls there
    UPDATE tuition.payment AS p
       SET status = p_status, approver = p_approver, reason = p_reason, decided_at = v_now
     WHERE p.tenant_id = p_tenant AND p.payment_id = p_payment_id;
    RETURN QUERY SELECT * FROM tuition._payment_out(p_tenant, p_payment_id, false);
END
$$;
COMMENT ON FUNCTION tuition._decide_payment(text, bigint, text, text, text) IS
    'Private: approve (p_status paid, capture its hold) or reject (rejected, void it) a payment awaiting approval; the same decision again replays, the other PB004.';
