-- The digest of one seal: sha256 over the tenant, the previous seal's digest and, in
-- entry_id order, each sealed posting and the immutable columns of its entry (status columns
-- change later, through the kernel, and are checked by verify). Lines are JSON arrays, so no
-- value can imitate a separator; times are microseconds, independent of TimeZone. Lines are
-- hashed in groups of 1024 entry ids and the group hashes chained, so memory stays bounded
-- (sorted aggregation) however large the seal. PL/pgSQL, not SQL: on Citus the spanning
-- seal and verify run it on the coordinator, where a SQL function's parameters cannot be planned.
CREATE OR REPLACE FUNCTION ledger._seal_digest(
    p_tenant text, p_prev text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (digest text, entries bigint, postings bigint)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
        WITH p AS MATERIALIZED (
            SELECT p.entry_id, p.posting_no, p.account_id, p.kind, p.amount, p.posted_at
              FROM (SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting AS x WHERE x.tenant_id = p_tenant
                    UNION ALL
                    SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting_archive AS x WHERE x.tenant_id = p_tenant) AS p
             WHERE p.tenant_id = p_tenant AND p.posted_at >= p_from AND p.posted_at < p_to
        ), e AS MATERIALIZED (
            SELECT e.entry_id, e.idempotency_key, e.fingerprint, e.metadata, e.created_at,
                   e.expires_at, e.reverses_entry_id
              FROM ledger.entry AS e
             -- An array, so the entries are index lookups, never a scan of the tenant's entries.
             WHERE e.tenant_id = p_tenant AND e.entry_id = ANY (ARRAY(SELECT DISTINCT p.entry_id FROM p))
        ), lines AS (
            SELECT e.entry_id, -1 AS posting_no,
                   json_build_array('E', e.entry_id, e.idempotency_key, e.fingerprint, e.metadata,
                                    (extract(epoch FROM e.created_at) * 1000000)::bigint,
                                    (extract(epoch FROM e.expires_at) * 1000000)::bigint,
                                    e.reverses_entry_id)::text AS line
              FROM e
            UNION ALL
            SELECT p.entry_id, p.posting_no,
                   json_build_array('P', p.entry_id, p.posting_no, p.account_id, p.kind::text, p.amount,
                                    (extract(epoch FROM p.posted_at) * 1000000)::bigint)::text
              FROM p
        ), groups AS (
            SELECT l.entry_id / 1024 AS g,
                   sha256(convert_to(string_agg(l.line, E'\n' ORDER BY l.entry_id, l.posting_no), 'UTF8')) AS h
              FROM lines AS l
             GROUP BY l.entry_id / 1024
        )
        SELECT encode(sha256(convert_to(json_build_array(p_tenant, p_prev)::text, 'UTF8')
                             || coalesce((SELECT string_agg(g.h, ''::bytea ORDER BY g.g) FROM groups AS g), '')), 'hex'),
               (SELECT count(*) FROM e), (SELECT count(*) FROM p);
END
$$;
COMMENT ON FUNCTION ledger._seal_digest(text, text, timestamptz, timestamptz) IS
    'Private: digest, entry and posting counts of a tenant''s postings with p_from <= posted_at < p_to, chained to p_prev.';
