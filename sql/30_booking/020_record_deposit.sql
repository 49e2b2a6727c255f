CREATE OR REPLACE FUNCTION booking.record_deposit(
    p_tenant text, p_booking text, p_amount bigint, p_payment_ref text)
RETURNS SETOF booking.booking_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_booking booking.booking;
    v_payment booking.payment;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_reference('booking', p_booking);
    PERFORM ledger._check_amount('amount', p_amount);
    PERFORM ledger._check_reference('payment_ref', p_payment_ref);

    -- The booking row first: every decision about this booking is taken under its lock.
    SELECT * INTO v_booking FROM booking.booking AS b
     WHERE b.tenant_id = p_tenant AND b.booking_id = p_booking
       FOR UPDATE;
    v_payment := booking._known_payment(p_tenant, p_booking, 'deposit', p_amount, p_payment_ref,
                                        v_booking.booking_id IS NOT NULL);
    IF v_payment.payment_ref IS NOT NULL THEN
        RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking, true, false);
        RETURN;
    END IF;
    IF v_booking.status <> 'PENDING' THEN
        PERFORM ledger._raise('PB004', 'the deposit of this booking is already paid',
            format('booking=%s status=%s deposit_paid=%s', p_booking, v_booking.status,
                   v_booking.deposit_paid));
    END IF;
    IF p_amount > v_booking.deposit THEN
        PERFORM ledger._raise('PB002', 'deposit payment exceeds the deposit due',
            format('booking=%s deposit=%s requested=%s', p_booking, v_booking.deposit, p_amount));
    ELSIF p_amount < v_booking.deposit THEN
        PERFORM ledger._raise('22023', 'deposit payment is less than the deposit due',
            format('booking=%s deposit=%s requested=%s', p_booking, v_booking.deposit, p_amount),
            'The deposit is paid in one payment of exactly the deposit amount.');
    END IF;

    RETURN QUERY SELECT * FROM booking._apply_payment(p_tenant, v_booking, 'deposit', p_amount, p_payment_ref);
END
$$;
COMMENT ON FUNCTION booking.record_deposit(text, text, bigint, text) IS
    'Record the deposit payment p_payment_ref of exactly the deposit amount (more -> PB002, less -> 22023) and move the booking to DEPOSIT_PAID; the same payment_ref again -> replayed, reused otherwise -> PB003. PB005 unknown booking, PB004 deposit already paid.';
