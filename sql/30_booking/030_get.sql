CREATE OR REPLACE FUNCTION booking.get(p_tenant text, p_booking text)
RETURNS SETOF booking.booking_result
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('booking', p_booking, false);
    RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking, false, false);
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'booking not found', format('booking=%s', p_booking));
    END IF;
END
$$;
COMMENT ON FUNCTION booking.get(text, text) IS
    'The booking: status, total, deposit_paid, balance_paid_amount/at and outstanding; PB005 if unknown in this tenant.';
