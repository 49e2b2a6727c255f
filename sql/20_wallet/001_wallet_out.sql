-- The one place that shapes a wallet row for callers: balances come from the kernel account,
-- read the way the kernel shapes it for its own callers.
CREATE OR REPLACE FUNCTION wallet._wallet_out(p_tenant text, p_user text)
RETURNS TABLE (user_id text, currency text, balance bigint, available bigint)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT w.user_id, w.currency, a.balance, a.available
      FROM wallet.wallet AS w
     CROSS JOIN LATERAL ledger._account_out(w.tenant_id, w.account_code) AS a
     WHERE w.tenant_id = p_tenant AND w.user_id = p_user
$$;
COMMENT ON FUNCTION wallet._wallet_out(text, text) IS 'Private: the wallet row as the API returns it.';
