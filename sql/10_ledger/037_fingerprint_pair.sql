-- What makes two calls with one key "the same movement", for two legs (every transfer, hold
-- and batch item): the legs sorted by code, the pending flag and the expiry, hashed from
-- jsonb's text of [[[code, amount], [code, amount]], pending, epoch], written out directly
-- (to_json gives jsonb's string escaping), so keys written before still replay.
-- LANGUAGE sql and a single expression: the planner inlines it into the caller's expression
-- (no function call of its own). STABLE, as to_json is: an IMMUTABLE SQL function whose body
-- is less than immutable is not inlined. ledger._fingerprint covers any number of legs.
CREATE OR REPLACE FUNCTION ledger._fingerprint_pair(
    p_code_a text, p_amount_a bigint, p_code_b text, p_amount_b bigint,
    p_pending boolean, p_expires_at timestamptz)
RETURNS uuid
LANGUAGE sql
STABLE
AS $$
    SELECT md5('[[[' || CASE WHEN p_code_a < p_code_b
                             THEN to_json(p_code_a)::text || ', ' || p_amount_a || '], ['
                                  || to_json(p_code_b)::text || ', ' || p_amount_b
                             ELSE to_json(p_code_b)::text || ', ' || p_amount_b || '], ['
                                  || to_json(p_code_a)::text || ', ' || p_amount_a END
               || ']], ' || coalesce(p_pending::text, 'null') || ', '
               || coalesce(extract(epoch FROM p_expires_at)::text, 'null') || ']')::uuid
$$;
COMMENT ON FUNCTION ledger._fingerprint_pair(text, bigint, text, bigint, boolean, timestamptz) IS
    'Private: ledger._fingerprint of a two-leg movement, as one inlinable expression.';
