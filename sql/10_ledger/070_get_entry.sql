CREATE OR REPLACE FUNCTION ledger.get_entry(p_tenant text, p_entry_id bigint)
RETURNS TABLE (entry_id bigint, idempotency_key text, status text, legs jsonb, metadata jsonb,
               created_at timestamptz)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    IF p_entry_id IS NULL THEN
        PERFORM ledger._raise('22023', 'entry_id must not be NULL');
    END IF;
    -- Legs are what the entry moved: its posted amounts, or for a hold that never posted,
    -- what it reserved (negative for the paying side).
    RETURN QUERY
    SELECT e.entry_id, e.idempotency_key, e.status,
           coalesce((SELECT jsonb_agg(jsonb_build_object('account', a.code, 'amount', l.amount)
                                      ORDER BY l.first_no)
                       FROM (SELECT p.account_id, min(p.posting_no) AS first_no,
                                    CASE WHEN bool_or(p.kind = 'B')
                                         THEN sum(p.amount) FILTER (WHERE p.kind = 'B')
                                         ELSE sum(CASE p.kind WHEN 'O' THEN -p.amount ELSE p.amount END)
                                                  FILTER (WHERE p.amount > 0)
                                    END::bigint AS amount
                               FROM (SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting AS x
                                     UNION ALL
                                     SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting_archive AS x) AS p
                              WHERE p.tenant_id = p_tenant AND p.entry_id = e.entry_id
                              GROUP BY p.account_id) AS l
                       JOIN ledger.account AS a ON a.tenant_id = p_tenant AND a.account_id = l.account_id),
                    '[]'::jsonb),
           e.metadata, e.created_at
      FROM ledger.entry AS e
     WHERE e.tenant_id = p_tenant AND e.entry_id = p_entry_id;
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'entry not found', format('entry_id=%s', p_entry_id));
    END IF;
END
$$;
COMMENT ON FUNCTION ledger.get_entry(text, bigint) IS
    'An entry with its key, status, legs [{"account", "amount"}] and metadata; PB005 if unknown in this tenant.';
