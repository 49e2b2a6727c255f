-- The ledger accounts behind tuition (see migrations/0005_tuition.sql for the money model).
CREATE OR REPLACE FUNCTION tuition._clearing_account(p_currency text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'pgb:tuition:clearing:' || p_currency
$$;
COMMENT ON FUNCTION tuition._clearing_account(text) IS
    'Private: code of the per-currency clearing account (no floor, no ceiling) that tuition payments come from.';
