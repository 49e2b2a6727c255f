-- The one place that shapes an account row for callers.
CREATE OR REPLACE FUNCTION ledger._account_out(p_tenant text, p_code text)
RETURNS TABLE (tenant text, code text, currency text, balance bigint, pending_out bigint,
               pending_in bigint, available bigint, min_balance bigint, max_balance bigint,
               closed boolean)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.tenant_id, a.code, a.currency, a.balance, a.pending_out, a.pending_in,
           a.balance - a.pending_out, a.min_balance, a.max_balance, a.closed_at IS NOT NULL
      FROM ledger.account AS a
     WHERE a.tenant_id = p_tenant AND a.code = p_code
$$;
COMMENT ON FUNCTION ledger._account_out(text, text) IS 'Private: the account row as the API returns it.';
