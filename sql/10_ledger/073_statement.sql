CREATE OR REPLACE FUNCTION ledger.statement(
    p_tenant text, p_code text, p_since timestamptz DEFAULT '-infinity',
    p_until timestamptz DEFAULT 'infinity')
RETURNS TABLE (entry_id bigint, posted_at timestamptz, amount bigint, balance_after bigint,
               metadata jsonb)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_id bigint;
    v_opening bigint;
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    v_id := ledger._account_id(p_tenant, p_code);
    IF p_since IS NULL OR p_until IS NULL THEN
        PERFORM ledger._raise('22023', 'p_since and p_until must not be NULL');
    END IF;
    SELECT coalesce(sum(p.amount), 0) INTO v_opening FROM (SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting AS x
                                                           UNION ALL
                                                           SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting_archive AS x) AS p
     WHERE p.tenant_id = p_tenant AND p.account_id = v_id AND p.kind = 'B' AND p.posted_at < p_since;
    RETURN QUERY
    SELECT p.entry_id, p.posted_at, p.amount,
           (v_opening + sum(p.amount) OVER (ORDER BY p.posted_at, p.entry_id, p.posting_no))::bigint,
           e.metadata
      FROM (SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting AS x
            UNION ALL
            SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting_archive AS x) AS p
      JOIN ledger.entry AS e ON e.tenant_id = p.tenant_id AND e.entry_id = p.entry_id
     WHERE p.tenant_id = p_tenant AND p.account_id = v_id AND p.kind = 'B'
       AND p.posted_at >= p_since AND p.posted_at <= p_until
     ORDER BY p.posted_at, p.entry_id, p.posting_no;
END
$$;
COMMENT ON FUNCTION ledger.statement(text, text, timestamptz, timestamptz) IS
    'Posted movements of an account between p_since and p_until, oldest first, signed from the account''s side, with the true running balance after each.';
