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
    v_from text;
    v_to text;
    v_amount bigint;
    v_meta jsonb[];
    v_problems text[];
    v_leg_items integer[];
    v_leg_codes text[];
    v_leg_amounts bigint[];
    v_moved record;
    v_i integer;
    v_m integer;
    v_x jsonb;
    v_a jsonb;
    v_mj jsonb;
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

    -- One pass in item order takes each item apart: its fields, the problem with its shape,
    -- and the two legs of a well-shaped one (from pays, to receives). A loop prepares its few
    -- expressions once per call; building each array with an ordered aggregate would sort the
    -- items once per array (18k instructions more per item).
    v_m := 0;
    FOR v_i, v_x IN
        SELECT e.o::integer, e.x FROM jsonb_array_elements(p_transfers) WITH ORDINALITY AS e(x, o)
    LOOP
        IF jsonb_typeof(v_x) = 'object' THEN
            v_keys[v_i] := CASE WHEN jsonb_typeof(v_x -> 'key') = 'string' THEN v_x ->> 'key' END;
            v_from := CASE WHEN jsonb_typeof(v_x -> 'from') = 'string' THEN v_x ->> 'from' END;
            v_to := CASE WHEN jsonb_typeof(v_x -> 'to') = 'string' THEN v_x ->> 'to' END;
            v_a := v_x -> 'amount';
            v_mj := v_x -> 'metadata';
            v_meta[v_i] := nullif(v_mj, 'null'::jsonb);
            v_problems[v_i] := CASE
                 WHEN jsonb_typeof(v_a) IS DISTINCT FROM 'number' OR (v_a #>> '{}') !~ '^-?[0-9]+$'
                      OR (v_a #>> '{}')::numeric NOT BETWEEN c_bigint_min AND c_bigint_max THEN
                      'amount must be an integer (minor units)|amount=' || coalesce(left(v_a::text, 40), 'NULL')
                 WHEN (v_a #>> '{}')::numeric <= 0 THEN
                      'amount must be greater than 0|amount=' || (v_a #>> '{}')
                 WHEN v_mj IS NOT NULL AND jsonb_typeof(v_mj) NOT IN ('object', 'null') THEN
                      'metadata must be a JSON object|metadata=' || left(v_mj::text, 100)
               END;
        ELSE
            v_keys[v_i] := NULL;
            v_problems[v_i] := 'an item must be a JSON object|item=' || left(v_x::text, 100);
        END IF;
        IF v_problems[v_i] IS NULL THEN
            v_amount := (v_a #>> '{}')::bigint;
            v_m := v_m + 2;
            v_leg_items[v_m - 1] := v_i;
            v_leg_items[v_m] := v_i;
            v_leg_codes[v_m - 1] := v_from;
            v_leg_codes[v_m] := v_to;
            v_leg_amounts[v_m - 1] := -v_amount;
            v_leg_amounts[v_m] := v_amount;
        END IF;
    END LOOP;

    -- A query, not an expression: on Citus, ledger._move's SET LOCAL of the discard marker
    -- reaches the tenant's worker only from inside a query run by this function (Citus
    -- propagates SET LOCAL in a multi-statement transaction, which a statement one executor
    -- level down counts as), when this body runs off the tenant's node outside a transaction
    -- block (a call not delegated, or delegated to the node a tenant is leaving). One
    -- executor start per batch.
    SELECT * INTO v_moved
      FROM ledger._move(p_tenant, v_keys, v_meta, v_problems, v_leg_items, v_leg_codes,
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
