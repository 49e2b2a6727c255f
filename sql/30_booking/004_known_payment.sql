-- The common front of record_deposit and complete_balance_payment, after the booking row is
-- locked (or found missing): the payment reference, then the booking's existence.
-- Returns the payment already holding p_payment_ref (a replay), or NULL for a new payment.
CREATE OR REPLACE FUNCTION booking._known_payment(
    p_tenant text, p_booking text, p_kind text, p_amount bigint, p_payment_ref text,
    p_booking_found boolean)
RETURNS booking.payment
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_payment booking.payment;
BEGIN
    SELECT * INTO v_payment FROM booking.payment AS p
     WHERE p.tenant_id = p_tenant AND p.payment_ref = p_payment_ref;
    IF FOUND THEN
        IF (v_payment.booking_id, v_payment.kind, v_payment.amount)
           IS DISTINCT FROM (p_booking, p_kind, p_amount) THEN
            PERFORM ledger._raise('PB003', 'payment_ref reused with different parameters',
                format('payment_ref=%s existing=(%s,%s,%s) requested=(%s,%s,%s)', p_payment_ref,
                       v_payment.booking_id, v_payment.kind, v_payment.amount,
                       p_booking, p_kind, p_amount),
                'A payment_ref names one payment; the provider retries it with the same booking and amount.');
        END IF;
        RETURN v_payment;
    END IF;
    IF NOT p_booking_found THEN
        PERFORM ledger._raise('PB005', 'booking not found', format('booking=%s', p_booking),
            'Create it first with booking.create.');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION booking._known_payment(text, text, text, bigint, text, boolean) IS
    'Private: the payment already recorded under p_payment_ref (PB003 if it differs), else PB005 for a missing booking, else NULL.';
