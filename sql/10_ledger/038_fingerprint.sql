-- What makes two calls with one key "the same movement": the legs sorted by code, the pending
-- flag and the expiry, hashed from jsonb's text of [[[code, amount], ...], pending, epoch].
-- Two legs (every transfer, hold and batch item) are written out as exactly that text without
-- building jsonb (to_json gives jsonb's string escaping): keys written before still replay.
CREATE OR REPLACE FUNCTION ledger._fingerprint(
    p_codes text[], p_amounts bigint[], p_pending boolean, p_expires_at timestamptz)
RETURNS uuid
LANGUAGE plpgsql
IMMUTABLE
AS $$
DECLARE
    v_lo integer := 1;
    v_hi integer := 2;
BEGIN
    IF cardinality(p_codes) = 2 THEN
        IF NOT p_codes[1] < p_codes[2] THEN
            v_lo := 2;
            v_hi := 1;
        END IF;
        RETURN md5('[[[' || to_json(p_codes[v_lo])::text || ', ' || p_amounts[v_lo] || '], ['
                   || to_json(p_codes[v_hi])::text || ', ' || p_amounts[v_hi] || ']], '
                   || coalesce(p_pending::text, 'null') || ', '
                   || coalesce(extract(epoch FROM p_expires_at)::text, 'null') || ']')::uuid;
    END IF;
    RETURN md5(jsonb_build_array(
        (SELECT jsonb_agg(jsonb_build_array(u.c, u.a) ORDER BY u.c)
           FROM unnest(p_codes, p_amounts) AS u(c, a)),
        p_pending, extract(epoch FROM p_expires_at))::text)::uuid;
END
$$;
COMMENT ON FUNCTION ledger._fingerprint(text[], bigint[], boolean, timestamptz) IS
    'Private: the parameters of a movement as one uuid (legs sorted by code, pending flag, expiry); equal for the same movement in any leg order.';
