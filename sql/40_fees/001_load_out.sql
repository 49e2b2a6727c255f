-- The one place that shapes a load row for callers.
CREATE OR REPLACE FUNCTION fees._load_out(p_tenant text, p_load text, p_replayed boolean)
RETURNS SETOF fees.load_result
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT l.load_id, l.status, l.fee_status, l.shipper_fee, l.carrier_fee, l.fee_entry_id,
           l.refund_entry_id, p_replayed
      FROM fees.load AS l
     WHERE l.tenant_id = p_tenant AND l.load_id = p_load;
END
$$;
COMMENT ON FUNCTION fees._load_out(text, text, boolean) IS
    'Private: a load row as the API returns it (fees NULL until deducted).';
