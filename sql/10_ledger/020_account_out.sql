-- The one place that shapes an account row for callers. An account's amounts are its row
-- plus its stripes (ledger.account_stripe; only striped accounts have any), summed here.
CREATE OR REPLACE FUNCTION ledger._account_out(p_tenant text, p_code text)
RETURNS SETOF ledger.account_result
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT a.tenant_id, a.code, a.currency, a.balance + s.b, a.pending_out + s.o,
           a.pending_in + s.i, a.balance + s.b - a.pending_out - s.o, a.min_balance,
           a.max_balance, a.closed_at IS NOT NULL
      FROM ledger.account AS a
     CROSS JOIN LATERAL (
           SELECT coalesce(sum(x.balance), 0)::bigint AS b,
                  coalesce(sum(x.pending_out), 0)::bigint AS o,
                  coalesce(sum(x.pending_in), 0)::bigint AS i
             FROM ledger.account_stripe AS x
            WHERE x.tenant_id = p_tenant AND x.account_id = a.account_id) AS s
     WHERE a.tenant_id = p_tenant AND a.code = p_code;
END
$$;
COMMENT ON FUNCTION ledger._account_out(text, text) IS 'Private: the account row as the API returns it (stripes summed in).';
