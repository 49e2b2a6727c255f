-- What makes two calls with one key "the same movement": the legs sorted by code, the pending
-- flag and the expiry, hashed from jsonb's text of [[[code, amount], ...], pending, epoch].
-- ledger._move hashes two legs (every transfer, hold and batch item) with
-- ledger._fingerprint_pair, which writes this same text without building jsonb.
CREATE OR REPLACE FUNCTION ledger._fingerprint(
    p_codes text[], p_amounts bigint[], p_pending boolean, p_expires_at timestamptz)
RETURNS uuid
LANGUAGE plpgsql
IMMUTABLE
AS $$
BEGIN
    RETURN md5(jsonb_build_array(
        (SELECT jsonb_agg(jsonb_build_array(u.c, u.a) ORDER BY u.c)
           FROM unnest(p_codes, p_amounts) AS u(c, a)),
        p_pending, extract(epoch FROM p_expires_at))::text)::uuid;
END
$$;
COMMENT ON FUNCTION ledger._fingerprint(text[], bigint[], boolean, timestamptz) IS
    'Private: the parameters of a movement as one uuid (legs sorted by code, pending flag, expiry); equal for the same movement in any leg order.';
