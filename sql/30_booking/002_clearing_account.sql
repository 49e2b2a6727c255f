-- Where payment-provider money arrives from, one per currency, no floor or ceiling.
-- Outside the pgb:booking: namespace, so no booking id can ever name it.
CREATE OR REPLACE FUNCTION booking._clearing_account(p_currency text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'pgb:booking-clearing:' || p_currency
$$;
COMMENT ON FUNCTION booking._clearing_account(text) IS
    'Private: the per-currency provider clearing account payments are booked from (no floor, no ceiling).';
