CREATE OR REPLACE FUNCTION wallet._revenue_account(p_currency text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'pgb:wallet-revenue:' || p_currency
$$;
COMMENT ON FUNCTION wallet._revenue_account(text) IS
    'Private: the per-currency account purchases are paid to (no floor, no ceiling).';
