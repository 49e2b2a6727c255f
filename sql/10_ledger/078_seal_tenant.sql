-- One tenant's seal up to p_horizon (ledger.seal has waited for every transaction that could
-- still commit a posting before it). Seals of a tenant are serialised by an advisory lock; a
-- seal that finds a later horizon already sealed adds nothing. Checkpoints are written only
-- for the accounts that moved since the previous seal: the previous checkpoint plus the sums
-- since. Reads postings and writes its own tables: no lock any movement waits for.
CREATE OR REPLACE FUNCTION ledger._seal_tenant(p_tenant text, p_horizon timestamptz)
RETURNS SETOF ledger.seal_result
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_prev_no bigint := 0;
    v_prev_horizon timestamptz := '-infinity';
    v_prev_digest text := '';
    v_digest text;
    v_entries bigint;
    v_postings bigint;
    v_max_entry bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('pgbalance.seal:' || p_tenant, 0));
    SELECT s.seal_no, s.horizon, s.digest INTO v_prev_no, v_prev_horizon, v_prev_digest
      FROM ledger.seal AS s
     WHERE s.tenant_id = p_tenant
     ORDER BY s.seal_no DESC
     LIMIT 1;
    IF NOT FOUND THEN
        v_prev_no := 0;
        v_prev_horizon := '-infinity';
        v_prev_digest := '';
    ELSIF v_prev_horizon >= p_horizon THEN
        RETURN QUERY
        SELECT s.tenant_id, s.seal_no, s.horizon, s.entries, s.postings, s.digest
          FROM ledger.seal AS s
         WHERE s.tenant_id = p_tenant AND s.seal_no = v_prev_no;
        RETURN;
    END IF;
    SELECT d.digest, d.entries, d.postings INTO v_digest, v_entries, v_postings
      FROM ledger._seal_digest(p_tenant, v_prev_digest, v_prev_horizon, p_horizon) AS d;
    SELECT max(e.entry_id) INTO v_max_entry FROM ledger.entry AS e WHERE e.tenant_id = p_tenant;
    INSERT INTO ledger.seal (tenant_id, seal_no, horizon, max_entry_id, entries, postings,
                             prev_digest, digest)
    VALUES (p_tenant, v_prev_no + 1, p_horizon, coalesce(v_max_entry, 0), v_entries, v_postings,
            v_prev_digest, v_digest);
    INSERT INTO ledger.seal_balance (tenant_id, account_id, seal_no, balance, pending_out, pending_in)
    SELECT p_tenant, d.account_id, v_prev_no + 1, coalesce(c.balance, 0) + d.b,
           coalesce(c.pending_out, 0) + d.o, coalesce(c.pending_in, 0) + d.i
      FROM (SELECT p.account_id,
                   coalesce(sum(p.amount) FILTER (WHERE p.kind = 'B'), 0) AS b,
                   coalesce(sum(p.amount) FILTER (WHERE p.kind = 'O'), 0) AS o,
                   coalesce(sum(p.amount) FILTER (WHERE p.kind = 'I'), 0) AS i
              FROM ledger.posting AS p
             WHERE p.tenant_id = p_tenant AND p.posted_at >= v_prev_horizon AND p.posted_at < p_horizon
             GROUP BY p.account_id) AS d
      LEFT JOIN LATERAL (
            SELECT c.balance, c.pending_out, c.pending_in FROM ledger.seal_balance AS c
             WHERE c.tenant_id = p_tenant AND c.account_id = d.account_id
             ORDER BY c.seal_no DESC
             LIMIT 1) AS c ON true;
    RETURN QUERY SELECT p_tenant, v_prev_no + 1, p_horizon, v_entries, v_postings, v_digest;
END
$$;
COMMENT ON FUNCTION ledger._seal_tenant(text, timestamptz) IS
    'Private: seal one tenant''s postings before p_horizon: the seal row (digest chained to the previous one) and checkpoints of the accounts that moved.';
