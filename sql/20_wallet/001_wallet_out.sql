-- The one place that shapes a wallet row for callers: balances come from the kernel account,
-- read the way the kernel shapes it for its own callers.
CREATE OR REPLACE FUNCTION wallet._wallet_out(p_tenant text, p_user text)
RETURNS SETOF wallet.wallet_result
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_currency text;
    v_code text;
BEGIN
    -- Read first, then the kernel's shape: on Citus a function that reads tables cannot run
    -- inside a query over a distributed table.
    SELECT w.currency, w.account_code INTO v_currency, v_code
      FROM wallet.wallet AS w
     WHERE w.tenant_id = p_tenant AND w.user_id = p_user;
    RETURN QUERY
    SELECT p_user, v_currency, a.balance, a.available
      FROM ledger._account_out(p_tenant, v_code) AS a;
END
$$;
COMMENT ON FUNCTION wallet._wallet_out(text, text) IS 'Private: the wallet row as the API returns it.';
