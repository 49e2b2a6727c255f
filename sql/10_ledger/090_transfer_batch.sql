-- Many transfers in one call (docs/batch.md): the many-item case of the movement engine
-- (ledger._move), so each item is checked, claimed, locked and posted by the same code as a
-- ledger.transfer, in the contract's check order; items take effect in idx order, so an item
-- sees the balances the items before it left. Here only the JSON is taken apart: what is
-- not a transfer's shape (not an object, amount not an integer > 0 within bigint, metadata
-- neither an object nor null) is the item's 22023; the engine checks the rest.
CREATE OR REPLACE FUNCTION ledger.transfer_batch(
    p_tenant text, p_transfers jsonb, p_atomic boolean DEFAULT false)
RETURNS TABLE (idx integer, entry_id bigint, status text, replayed boolean, error_code text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    c_max_items CONSTANT integer := 1000;
    c_bigint_min CONSTANT numeric := -9223372036854775808;  -- the range of an amount
    c_bigint_max CONSTANT numeric := 9223372036854775807;
    v_n integer;
    v_keys text[];
    v_from text[];
    v_to text[];
    v_amount bigint[];
    v_meta jsonb[];
    v_problems text[];
    v_leg_items integer[];
    v_leg_codes text[];
    v_leg_amounts bigint[];
    v_moved record;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    IF p_transfers IS NULL OR jsonb_typeof(p_transfers) <> 'array' THEN
        PERFORM ledger._raise('22023', 'p_transfers must be a JSON array of transfers',
            format('transfers=%s', left(coalesce(p_transfers::text, 'NULL'), 100)),
            'Items are {"key", "from", "to", "amount", "metadata"} objects.');
    END IF;
    IF p_atomic IS NULL THEN
        PERFORM ledger._raise('22023', 'p_atomic must not be NULL');
    END IF;
    v_n := jsonb_array_length(p_transfers);
    IF v_n > c_max_items THEN
        PERFORM ledger._raise('22023', format('a batch holds at most %s transfers', c_max_items),
            format('items=%s', v_n), 'Split it into several calls.');
    END IF;
    IF v_n = 0 THEN
        RETURN;
    END IF;

    -- MATERIALIZED: inlined, each reference would evaluate the expressions again.
    WITH raw AS MATERIALIZED (
        SELECT o::integer AS i, x, jsonb_typeof(x) = 'object' AS obj,
               CASE WHEN jsonb_typeof(x) = 'object' THEN x -> 'amount' END AS a,
               CASE WHEN jsonb_typeof(x) = 'object' THEN x -> 'metadata' END AS m
          FROM jsonb_array_elements(p_transfers) WITH ORDINALITY AS e(x, o)
    ), checked AS MATERIALIZED (
        SELECT r.*,
               CASE
                 WHEN NOT r.obj THEN 'an item must be a JSON object|item=' || left(r.x::text, 100)
                 WHEN jsonb_typeof(r.a) IS DISTINCT FROM 'number' OR (r.a #>> '{}') !~ '^-?[0-9]+$'
                      OR (r.a #>> '{}')::numeric NOT BETWEEN c_bigint_min AND c_bigint_max THEN
                      'amount must be an integer (minor units)|amount=' || coalesce(left(r.a::text, 40), 'NULL')
                 WHEN (r.a #>> '{}')::numeric <= 0 THEN
                      'amount must be greater than 0|amount=' || (r.a #>> '{}')
                 WHEN r.m IS NOT NULL AND jsonb_typeof(r.m) NOT IN ('object', 'null') THEN
                      'metadata must be a JSON object|metadata=' || left(r.m::text, 100)
               END AS problem
          FROM raw AS r
    )
    SELECT array_agg(CASE WHEN c.obj AND jsonb_typeof(c.x -> 'key') = 'string' THEN c.x ->> 'key' END ORDER BY c.i),
           array_agg(CASE WHEN c.obj AND jsonb_typeof(c.x -> 'from') = 'string' THEN c.x ->> 'from' END ORDER BY c.i),
           array_agg(CASE WHEN c.obj AND jsonb_typeof(c.x -> 'to') = 'string' THEN c.x ->> 'to' END ORDER BY c.i),
           array_agg(CASE WHEN c.problem IS NULL THEN (c.a #>> '{}')::bigint END ORDER BY c.i),
           array_agg(nullif(c.m, 'null'::jsonb) ORDER BY c.i),
           array_agg(c.problem ORDER BY c.i)
      INTO v_keys, v_from, v_to, v_amount, v_meta, v_problems
      FROM checked AS c;

    -- Two legs per well-shaped item: from pays, to receives.
    SELECT array_agg(u.i ORDER BY u.i, s.leg), array_agg(CASE s.leg WHEN 1 THEN v_from[u.i] ELSE v_to[u.i] END ORDER BY u.i, s.leg),
           array_agg(CASE s.leg WHEN 1 THEN -v_amount[u.i] ELSE v_amount[u.i] END ORDER BY u.i, s.leg)
      INTO v_leg_items, v_leg_codes, v_leg_amounts
      FROM generate_subscripts(v_amount, 1) AS u(i)
     CROSS JOIN (VALUES (1), (2)) AS s(leg)
     WHERE v_amount[u.i] IS NOT NULL;

    v_moved := ledger._move(p_tenant, v_keys, v_meta, v_problems, v_leg_items, v_leg_codes,
        v_leg_amounts, p_pending => false, p_expires_at => NULL, p_one_currency => true,
        p_user => true, p_on_error => CASE WHEN p_atomic THEN 'raise_indexed' ELSE 'report' END);
    RETURN QUERY
    SELECT g.i, v_moved.entry_ids[g.i], v_moved.statuses[g.i], v_moved.replayed[g.i],
           v_moved.error_codes[g.i]
      FROM generate_series(1, v_n) AS g(i);
END
$$;
COMMENT ON FUNCTION ledger.transfer_batch(text, jsonb, boolean) IS
    'Many transfers in one call: p_transfers = [{"key", "from", "to", "amount", "metadata"}, ...] (at most 1000), applied in order, each idempotent by its key as ledger.transfer. One row per item (idx from 1). Non-atomic (default): each item succeeds or fails on its own (error_code = its SQLSTATE, entry_id NULL, nothing left). Atomic: all or none; the first failing item''s SQLSTATE is raised with idx=<n> in DETAIL. p_transfers not an array -> 22023.';
