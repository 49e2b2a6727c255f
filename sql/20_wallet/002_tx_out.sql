CREATE OR REPLACE FUNCTION wallet._tx_out(p_tenant text, p_reference text, p_replayed boolean)
RETURNS SETOF wallet.tx_result
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT t.reference, t.user_id, t.kind, t.amount, t.status, p_replayed
      FROM wallet.tx AS t
     WHERE t.tenant_id = p_tenant AND t.reference = p_reference;
END
$$;
COMMENT ON FUNCTION wallet._tx_out(text, text, boolean) IS 'Private: the tx row as the API returns it.';
