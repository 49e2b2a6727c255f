CREATE OR REPLACE FUNCTION booking.complete_balance_payment(
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
    v_outstanding bigint;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_reference('booking', p_booking);
    PERFORM ledger._check_amount('amount', p_amount);
    PERFORM ledger._check_reference('payment_ref', p_payment_ref);

    -- The booking row first: concurrent webhooks for this booking decide one after another,
    -- each seeing what the previous one committed.
    SELECT * INTO v_booking FROM booking.booking AS b
     WHERE b.tenant_id = p_tenant AND b.booking_id = p_booking
       FOR UPDATE;
    v_payment := booking._known_payment(p_tenant, p_booking, 'balance', p_amount, p_payment_ref,
                                        v_booking.booking_id IS NOT NULL);
    IF v_payment.payment_ref IS NOT NULL THEN
        RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking, true, NOT v_payment.applied);
        RETURN;
    END IF;
    IF v_booking.status = 'PENDING' THEN
        PERFORM ledger._raise('PB004', 'the deposit of this booking is not paid yet',
            format('booking=%s status=%s', p_booking, v_booking.status),
            'Nothing was recorded: the provider''s retry applies the payment once the deposit is in.');
    END IF;

    IF v_booking.status = 'PAID' THEN
        -- Paid already by another payment: keep this one, unapplied, for a refund.
        IF booking._record_payment(p_tenant, v_booking, 'balance', p_amount, p_payment_ref, false,
                                   'booking already paid') IS NULL THEN
            PERFORM booking._known_payment(p_tenant, p_booking, 'balance', p_amount, p_payment_ref, true);
            RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking, true, true);
            RETURN;
        END IF;
        RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking, false, true);
        RETURN;
    END IF;

    v_outstanding := v_booking.total - v_booking.deposit_paid;
    IF p_amount > v_outstanding THEN
        PERFORM ledger._raise('PB002', 'balance payment exceeds the outstanding balance',
            format('booking=%s outstanding=%s requested=%s', p_booking, v_outstanding, p_amount));
    ELSIF p_amount < v_outstanding THEN
        PERFORM ledger._raise('22023', 'balance payment is less than the outstanding balance',
            format('booking=%s outstanding=%s requested=%s', p_booking, v_outstanding, p_amount),
            'The balance is paid in one payment of exactly the outstanding amount.');
    END IF;

    RETURN QUERY SELECT * FROM booking._apply_payment(p_tenant, v_booking, 'balance', p_amount, p_payment_ref);
END
$$;
COMMENT ON FUNCTION booking.complete_balance_payment(text, text, bigint, text) IS
    'Apply the balance payment p_payment_ref exactly once: it must equal the outstanding balance (more -> PB002, less -> 22023) and moves the booking to PAID. The same payment_ref again -> replayed; another payment_ref once PAID -> already_paid = true, no ledger movement, kept in booking.unapplied_payments whatever its amount. PB004 before the deposit (nothing recorded), PB005 unknown booking, PB003 payment_ref reused with different parameters.';
