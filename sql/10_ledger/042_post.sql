-- One movement through the engine (ledger._move): ledger.hold, ledger.post_entry and the
-- workflows call this (ledger.transfer calls the engine itself); errors are raised as they are.
-- p_user: names come from a caller outside pgbalance and may not use the pgb: prefix.
-- One row, not a set: callers take it as a plain expression (no query for the result).
CREATE OR REPLACE FUNCTION ledger._post(
    p_tenant text, p_key text, p_codes text[], p_amounts bigint[], p_metadata jsonb,
    p_pending boolean, p_expires_at timestamptz, p_one_currency boolean, p_user boolean)
RETURNS ledger.movement_result
LANGUAGE plpgsql
AS $$
DECLARE
    v_moved record;
BEGIN
    v_moved := ledger._move(p_tenant, ARRAY[p_key], ARRAY[p_metadata], NULL,
        array_fill(1, ARRAY[coalesce(cardinality(p_codes), 0)]), p_codes, p_amounts,
        p_pending => p_pending, p_expires_at => p_expires_at, p_one_currency => p_one_currency,
        p_user => p_user, p_on_error => 'raise');
    RETURN (v_moved.entry_ids[1], v_moved.statuses[1], v_moved.replayed[1])::ledger.movement_result;
END
$$;
COMMENT ON FUNCTION ledger._post(text, text, text[], bigint[], jsonb, boolean, timestamptz, boolean, boolean) IS
    'Private: validate, claim the idempotency key and post (or hold) the legs of one new entry through ledger._move, raising its error; workflows call it with p_user = false.';
