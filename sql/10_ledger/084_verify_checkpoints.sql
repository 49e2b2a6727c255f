-- Every checkpoint against the postings before its horizon, in one pass over the tenant's
-- sealed postings: each is bucketed into its seal (width_bucket over the horizons) and the
-- per-seal sums are accumulated per account. A checkpoint exists exactly where an account
-- moved during that seal's interval. PL/pgSQL for Citus (ledger._seal_digest).
CREATE OR REPLACE FUNCTION ledger._verify_checkpoints(p_tenant text)
RETURNS SETOF ledger.verify_result
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
        WITH h AS (
            SELECT array_agg(s.horizon ORDER BY s.seal_no) AS horizons FROM ledger.seal AS s
             WHERE s.tenant_id = p_tenant
        ), moved AS (
            SELECT p.account_id, width_bucket(p.posted_at, h.horizons) + 1 AS seal_no,
                   coalesce(sum(p.amount) FILTER (WHERE p.kind = 'B'), 0) AS b,
                   coalesce(sum(p.amount) FILTER (WHERE p.kind = 'O'), 0) AS o,
                   coalesce(sum(p.amount) FILTER (WHERE p.kind = 'I'), 0) AS i
              FROM (SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting AS x WHERE x.tenant_id = p_tenant
                    UNION ALL
                    SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting_archive AS x WHERE x.tenant_id = p_tenant) AS p CROSS JOIN h
             WHERE p.tenant_id = p_tenant AND p.posted_at < h.horizons[cardinality(h.horizons)]
             GROUP BY p.account_id, width_bucket(p.posted_at, h.horizons)
        ), expected AS (
            SELECT m.account_id, m.seal_no,
                   sum(m.b) OVER w AS b, sum(m.o) OVER w AS o, sum(m.i) OVER w AS i
              FROM moved AS m
            WINDOW w AS (PARTITION BY m.account_id ORDER BY m.seal_no)
        ), stored AS (
            SELECT c.account_id, c.seal_no, c.balance, c.pending_out, c.pending_in
              FROM ledger.seal_balance AS c
             WHERE c.tenant_id = p_tenant
        )
        SELECT 'checkpoint_mismatch', p_tenant,
               coalesce(a.code, coalesce(x.account_id, c.account_id)::text),
               format('seal_no=%s balance=%s pending_out=%s pending_in=%s postings=%s/%s/%s',
                      coalesce(x.seal_no, c.seal_no), c.balance, c.pending_out, c.pending_in,
                      x.b, x.o, x.i)
          FROM expected AS x
          FULL JOIN stored AS c ON c.account_id = x.account_id AND c.seal_no = x.seal_no
          LEFT JOIN ledger.account AS a
                 ON a.tenant_id = p_tenant AND a.account_id = coalesce(x.account_id, c.account_id)
         WHERE c.balance IS DISTINCT FROM x.b OR c.pending_out IS DISTINCT FROM x.o
            OR c.pending_in IS DISTINCT FROM x.i;
END
$$;
COMMENT ON FUNCTION ledger._verify_checkpoints(text) IS
    'Private: checkpoints (ledger.seal_balance) of a tenant that differ from the sums of the postings before their horizon, or are missing or extra.';
