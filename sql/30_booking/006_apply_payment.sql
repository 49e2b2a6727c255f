-- The deposit or the balance payment of exactly the amount due, once the caller has locked the
-- booking and found the reference unknown: record and book it, then move the booking on
-- (DEPOSIT_PAID or PAID). A claim lost to another booking's payment with the same reference
-- ends in that payment's PB003 (booking._known_payment).
CREATE OR REPLACE FUNCTION booking._apply_payment(
    p_tenant text, p_booking booking.booking, p_kind text, p_amount bigint, p_payment_ref text)
RETURNS SETOF booking.booking_result
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now timestamptz;
BEGIN
    IF booking._record_payment(p_tenant, p_booking, p_kind, p_amount, p_payment_ref, true, NULL)
       IS NULL THEN
        PERFORM booking._known_payment(p_tenant, p_booking.booking_id, p_kind, p_amount,
                                       p_payment_ref, true);
        RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking.booking_id, true, false);
        RETURN;
    END IF;
    v_now := clock_timestamp();  -- not in the UPDATE: Citus refuses VOLATILE calls there
    IF p_kind = 'deposit' THEN
        UPDATE booking.booking AS b
           SET status = 'DEPOSIT_PAID', deposit_paid = p_amount, deposit_paid_at = v_now
         WHERE b.tenant_id = p_tenant AND b.booking_id = p_booking.booking_id;
    ELSE
        UPDATE booking.booking AS b
           SET status = 'PAID', balance_paid_amount = p_amount, balance_paid_at = v_now
         WHERE b.tenant_id = p_tenant AND b.booking_id = p_booking.booking_id;
    END IF;
    RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking.booking_id, false, false);
END
$$;
COMMENT ON FUNCTION booking._apply_payment(text, booking.booking, text, bigint, text) IS
    'Private: record and book the deposit (p_kind deposit) or balance payment of a locked booking and move it to DEPOSIT_PAID or PAID; PB003 when the reference was just taken by another booking''s payment.';
