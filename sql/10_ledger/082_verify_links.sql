-- The cheap part of a tenant's chain, read by every ledger.verify: seals numbered 1..n with
-- rising horizons, each naming the previous seal's digest. The digests themselves are
-- recomputed by ledger.verify_full and ledger.verify_seal. PL/pgSQL for Citus (ledger._seal_digest).
CREATE OR REPLACE FUNCTION ledger._verify_links(p_tenant text)
RETURNS SETOF ledger.verify_result
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
        SELECT 'seal_chain_broken', p_tenant, s.seal_no::text,
               format('prev_digest=%s previous_seal_digest=%s horizon=%s previous_horizon=%s previous_seal_no=%s',
                      s.prev_digest, coalesce(s.previous_digest, ''), s.horizon, s.previous_horizon,
                      s.previous_no)
          FROM (SELECT s.seal_no, s.prev_digest, s.horizon,
                       lag(s.digest) OVER w AS previous_digest,
                       lag(s.horizon) OVER w AS previous_horizon,
                       coalesce(lag(s.seal_no) OVER w, 0) AS previous_no
                  FROM ledger.seal AS s
                 WHERE s.tenant_id = p_tenant
                WINDOW w AS (ORDER BY s.seal_no)) AS s
         WHERE s.prev_digest <> coalesce(s.previous_digest, '')
            OR s.horizon <= s.previous_horizon
            OR s.seal_no <> s.previous_no + 1;
END
$$;
COMMENT ON FUNCTION ledger._verify_links(text) IS
    'Private: seals of a tenant that do not follow the previous one (number, horizon, prev_digest).';
