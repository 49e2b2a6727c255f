CREATE OR REPLACE FUNCTION ledger.post_entry(
    p_tenant text, p_key text, p_legs jsonb, p_metadata jsonb DEFAULT '{}',
    p_pending boolean DEFAULT false, p_expires_at timestamptz DEFAULT NULL)
RETURNS SETOF ledger.movement_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_codes text[];
    v_amounts bigint[];
    v_bad jsonb;
    v_moved record;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    IF p_legs IS NULL OR jsonb_typeof(p_legs) <> 'array' THEN
        PERFORM ledger._raise('22023', 'p_legs must be a JSON array of {"account", "amount"} objects',
            format('legs=%s', left(coalesce(p_legs::text, 'NULL'), 100)));
    END IF;
    SELECT l INTO v_bad FROM jsonb_array_elements(p_legs) AS l
     WHERE jsonb_typeof(l) <> 'object'
        OR jsonb_typeof(l -> 'account') IS DISTINCT FROM 'string'
        OR jsonb_typeof(l -> 'amount') IS DISTINCT FROM 'number'
        OR (l ->> 'amount') !~ '^-?[0-9]+$'
        OR (l ->> 'amount')::numeric NOT BETWEEN -9223372036854775807 AND 9223372036854775807
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger._raise('22023', 'each leg must be {"account": text, "amount": integer}',
            format('leg=%s', left(v_bad::text, 100)));
    END IF;
    SELECT array_agg(l ->> 'account' ORDER BY o), array_agg((l ->> 'amount')::bigint ORDER BY o)
      INTO v_codes, v_amounts
      FROM jsonb_array_elements(p_legs) WITH ORDINALITY AS x(l, o);
    v_moved := ledger._post(p_tenant, p_key, v_codes, v_amounts, p_metadata,
        p_pending => coalesce(p_pending, false), p_expires_at => p_expires_at,
        p_one_currency => false, p_user => true);
    RETURN NEXT v_moved;
END
$$;
COMMENT ON FUNCTION ledger.post_entry(text, text, jsonb, jsonb, boolean, timestamptz) IS
    'Post a multi-leg entry: p_legs = [{"account": code, "amount": signed bigint}, ...], at least two, non-zero, summing to 0 per currency. p_pending = true holds it instead (capture or void later). Idempotent by p_key.';
