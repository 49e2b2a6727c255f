-- Tenant-level counterparts of every wallet movement, one per currency, no floor or ceiling:
-- top-ups come from pgb:wallet-funding:<CUR> (money received from the payment side),
-- purchases go to pgb:wallet-revenue:<CUR>. Outside the pgb:wallet: namespace, so no user
-- id can ever name them.
CREATE OR REPLACE FUNCTION wallet._funding_account(p_currency text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'pgb:wallet-funding:' || p_currency
$$;
COMMENT ON FUNCTION wallet._funding_account(text) IS
    'Private: the per-currency account top-ups are paid from (no floor, no ceiling).';
