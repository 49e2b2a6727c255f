CREATE OR REPLACE FUNCTION fees._revenue_account(p_currency text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'pgb:fees:revenue:' || p_currency
$$;
COMMENT ON FUNCTION fees._revenue_account(text) IS
    'Private: code of the per-currency platform revenue account service fees are paid to (no floor, no ceiling).';
