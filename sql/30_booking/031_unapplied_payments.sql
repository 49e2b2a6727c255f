CREATE OR REPLACE FUNCTION booking.unapplied_payments(p_tenant text, p_booking text)
RETURNS TABLE (payment_ref text, amount bigint, received_at timestamptz, reason text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('booking', p_booking, false);
    IF NOT EXISTS (SELECT FROM booking.booking AS b
                    WHERE b.tenant_id = p_tenant AND b.booking_id = p_booking) THEN
        PERFORM ledger._raise('PB005', 'booking not found', format('booking=%s', p_booking));
    END IF;
    RETURN QUERY
        SELECT p.payment_ref, p.amount, p.received_at, p.reason
          FROM booking.payment AS p
         WHERE p.tenant_id = p_tenant AND p.booking_id = p_booking AND NOT p.applied
         ORDER BY p.payment_no;
END
$$;
COMMENT ON FUNCTION booking.unapplied_payments(text, text) IS
    'Payments received for p_booking that were not applied (a balance payment after the booking was PAID), oldest first, to be refunded; PB005 if the booking is unknown.';
