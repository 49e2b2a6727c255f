CREATE OR REPLACE FUNCTION booking._booking_account(p_booking text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'pgb:booking:' || p_booking
$$;
COMMENT ON FUNCTION booking._booking_account(text) IS
    'Private: the booking''s own account (min_balance 0, max_balance = total, so it can never hold more than the price).';
