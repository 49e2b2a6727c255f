-- What makes two calls with one key "the same movement", for two legs (every transfer, hold
-- and batch item): the legs sorted by code, the pending flag and the expiry, hashed from
-- jsonb's text of [[[code, amount], [code, amount]], pending, epoch], written out directly
-- (to_json gives jsonb's string escaping), so keys written before still replay. One format()
-- call: PL/pgSQL prepares every function of an expression again in each transaction, and a
-- chain of concatenations is a dozen of them.
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
    SELECT md5(pg_catalog.format(CASE WHEN p_code_a < p_code_b
                                      THEN '[[[%1$s, %2$s], [%3$s, %4$s]], %5$s, %6$s]'
                                      ELSE '[[[%3$s, %4$s], [%1$s, %2$s]], %5$s, %6$s]' END,
                                 to_json(p_code_a), p_amount_a, to_json(p_code_b), p_amount_b,
                                 coalesce(p_pending::text, 'null'),
                                 coalesce(extract(epoch FROM p_expires_at)::text, 'null')))::uuid
$$;
COMMENT ON FUNCTION ledger._fingerprint_pair(text, bigint, text, bigint, boolean, timestamptz) IS
    'Private: ledger._fingerprint of a two-leg movement, as one inlinable expression.';
