-- The one place that shapes a booking row for callers.
CREATE OR REPLACE FUNCTION booking._booking_out(
    p_tenant text, p_booking text, p_replayed boolean, p_already_paid boolean)
RETURNS SETOF booking.booking_result
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT b.booking_id, b.status, b.total, b.deposit_paid, b.balance_paid_amount,
           b.balance_paid_at, b.total - b.deposit_paid - b.balance_paid_amount,
           p_replayed, p_already_paid
      FROM booking.booking AS b
     WHERE b.tenant_id = p_tenant AND b.booking_id = p_booking;
END
$$;
COMMENT ON FUNCTION booking._booking_out(text, text, boolean, boolean) IS
    'Private: the booking row as the API returns it (outstanding = total - deposit_paid - balance_paid_amount).';
