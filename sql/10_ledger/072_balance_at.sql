-- O(log n) of the account's history: the account's checkpoint at the last seal whose
-- horizon is at or before p_at (ledger.seal_balance, by index), plus its postings from that
-- horizon to p_at (posting_account_time_idx). What is summed is bounded by what one account
-- posts between two seals (docs/operations.md: seal cadence); with no seal at all it is
-- every posting up to p_at, as before seals existed.
CREATE OR REPLACE FUNCTION ledger.balance_at(p_tenant text, p_code text, p_at timestamptz)
RETURNS bigint
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id bigint;
    v_seal bigint;
    v_from timestamptz := '-infinity';
    v_base bigint := 0;
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    v_id := ledger._account_id(p_tenant, p_code);
    IF p_at IS NULL THEN
        PERFORM ledger._raise('22023', 'p_at must not be NULL');
    END IF;
    SELECT s.seal_no, s.horizon INTO v_seal, v_from FROM ledger.seal AS s
     WHERE s.tenant_id = p_tenant AND s.horizon <= p_at
     ORDER BY s.horizon DESC
     LIMIT 1;
    IF FOUND THEN
        -- An account without a checkpoint at that seal did not move since its last one.
        SELECT c.balance INTO v_base FROM ledger.seal_balance AS c
         WHERE c.tenant_id = p_tenant AND c.account_id = v_id AND c.seal_no <= v_seal
         ORDER BY c.seal_no DESC
         LIMIT 1;
        v_base := coalesce(v_base, 0);
    ELSE
        v_from := '-infinity';
    END IF;
    RETURN v_base + (SELECT coalesce(sum(p.amount), 0)::bigint FROM (SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting AS x
                                                                     UNION ALL
                                                                     SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting_archive AS x) AS p
                      WHERE p.tenant_id = p_tenant AND p.account_id = v_id AND p.kind = 'B'
                        AND p.posted_at >= v_from AND p.posted_at <= p_at);
END
$$;
COMMENT ON FUNCTION ledger.balance_at(text, text, timestamptz) IS
    'The posted balance of an account at p_at (the sum of its postings with posted_at <= p_at): its checkpoint at the last seal before p_at plus its postings since.';
