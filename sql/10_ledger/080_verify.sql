CREATE OR REPLACE FUNCTION ledger._verify_all(p_tenant text DEFAULT NULL)
RETURNS SETOF ledger.verify_result
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    -- verify(NULL) by a tenant-bound role covers only its tenants (NULL: every tenant).
    v_tenants text[];
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    IF p_tenant IS NOT NULL THEN PERFORM ledger._check_name('tenant', p_tenant, false); END IF;
    IF p_tenant IS NULL THEN
        v_tenants := ledger._granted_tenants();
    END IF;
    RETURN QUERY
    WITH per_account AS (
        SELECT p.tenant_id, p.account_id,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'B'), 0) AS b,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'O'), 0) AS o,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'I'), 0) AS i,
               min(p.posted_at) AS first_posted_at
          FROM (SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting AS x WHERE (p_tenant IS NULL OR x.tenant_id = p_tenant) AND (v_tenants IS NULL OR x.tenant_id = ANY (v_tenants))
                UNION ALL
                SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting_archive AS x WHERE (p_tenant IS NULL OR x.tenant_id = p_tenant) AND (v_tenants IS NULL OR x.tenant_id = ANY (v_tenants))) AS p
         WHERE (p_tenant IS NULL OR p.tenant_id = p_tenant)
           AND (v_tenants IS NULL OR p.tenant_id = ANY(v_tenants))
         GROUP BY p.tenant_id, p.account_id
    ), per_stripe AS (
        -- An account's amounts are its row plus its stripes (striped accounts only).
        SELECT x.tenant_id, x.account_id, sum(x.balance) AS b, sum(x.pending_out) AS o,
               sum(x.pending_in) AS i, count(*) AS stripes
          FROM ledger.account_stripe AS x
         WHERE (p_tenant IS NULL OR x.tenant_id = p_tenant)
           AND (v_tenants IS NULL OR x.tenant_id = ANY(v_tenants))
         GROUP BY x.tenant_id, x.account_id
    ), accounts AS (
        SELECT a.tenant_id, a.code, a.balance + coalesce(x.b, 0) AS balance,
               a.pending_out + coalesce(x.o, 0) AS pending_out,
               a.pending_in + coalesce(x.i, 0) AS pending_in, a.min_balance,
               a.max_balance, coalesce(s.b, 0) AS b, coalesce(s.o, 0) AS o, coalesce(s.i, 0) AS i,
               coalesce(x.stripes, 0) AS stripes, a.stripes AS declared_stripes,
               a.created_at, s.first_posted_at
          FROM ledger.account AS a
          LEFT JOIN per_account AS s ON s.tenant_id = a.tenant_id AND s.account_id = a.account_id
          LEFT JOIN per_stripe AS x ON x.tenant_id = a.tenant_id AND x.account_id = a.account_id
         WHERE (p_tenant IS NULL OR a.tenant_id = p_tenant)
           AND (v_tenants IS NULL OR a.tenant_id = ANY(v_tenants))
    ), per_currency AS (
        SELECT p.tenant_id, p.entry_id, a.currency,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'B'), 0) AS b,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'O'), 0) AS o,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'I'), 0) AS i
          FROM (SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting AS x WHERE (p_tenant IS NULL OR x.tenant_id = p_tenant) AND (v_tenants IS NULL OR x.tenant_id = ANY (v_tenants))
                UNION ALL
                SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting_archive AS x WHERE (p_tenant IS NULL OR x.tenant_id = p_tenant) AND (v_tenants IS NULL OR x.tenant_id = ANY (v_tenants))) AS p
          JOIN ledger.account AS a ON a.tenant_id = p.tenant_id AND a.account_id = p.account_id
                                AND (p_tenant IS NULL OR a.tenant_id = p_tenant)
         WHERE (p_tenant IS NULL OR p.tenant_id = p_tenant)
           AND (v_tenants IS NULL OR p.tenant_id = ANY(v_tenants))
         GROUP BY p.tenant_id, p.entry_id, a.currency
    ), reversed AS (
        -- One pass over the reversals (a subquery per entry would scan entry once per entry).
        SELECT r.tenant_id, r.reverses_entry_id AS entry_id, sum(r.amount) AS total
          FROM ledger.entry AS r
         WHERE r.reverses_entry_id IS NOT NULL AND (p_tenant IS NULL OR r.tenant_id = p_tenant)
           AND (v_tenants IS NULL OR r.tenant_id = ANY(v_tenants))
         GROUP BY r.tenant_id, r.reverses_entry_id
    ), entries AS (
        SELECT e.tenant_id, e.entry_id, e.status, e.amount, e.reversed_amount, e.created_at,
               min(p.posted_at) AS first_posted_at,
               count(p.entry_id) AS postings,
               count(p.entry_id) FILTER (WHERE p.kind = 'B') AS b_postings,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'B' AND p.amount > 0), 0) AS b_positive,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'I' AND p.amount > 0), 0) AS held,
               coalesce(sum(p.amount) FILTER (WHERE p.kind <> 'B'), 0) AS pending_net,
               coalesce(min(x.total), 0) AS reversals
          FROM ledger.entry AS e
          LEFT JOIN (SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting AS x WHERE (p_tenant IS NULL OR x.tenant_id = p_tenant) AND (v_tenants IS NULL OR x.tenant_id = ANY (v_tenants))
                     UNION ALL
                     SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting_archive AS x WHERE (p_tenant IS NULL OR x.tenant_id = p_tenant) AND (v_tenants IS NULL OR x.tenant_id = ANY (v_tenants))) AS p ON p.tenant_id = e.tenant_id AND p.entry_id = e.entry_id
                                     AND (p_tenant IS NULL OR p.tenant_id = p_tenant)
          LEFT JOIN reversed AS x ON x.tenant_id = e.tenant_id AND x.entry_id = e.entry_id
         WHERE (p_tenant IS NULL OR e.tenant_id = p_tenant)
           AND (v_tenants IS NULL OR e.tenant_id = ANY(v_tenants))
         GROUP BY e.tenant_id, e.entry_id
    )
    SELECT 'balance_mismatch', tenant_id, code, format('balance=%s postings=%s', balance, b)
      FROM accounts WHERE balance <> b
    UNION ALL
    SELECT 'pending_out_mismatch', tenant_id, code, format('pending_out=%s postings=%s', pending_out, o)
      FROM accounts WHERE pending_out <> o
    UNION ALL
    SELECT 'pending_in_mismatch', tenant_id, code, format('pending_in=%s postings=%s', pending_in, i)
      FROM accounts WHERE pending_in <> i
    UNION ALL
    SELECT 'stripes_not_allowed', tenant_id, code,
           format('stripe_rows=%s stripes=%s min_balance=%s max_balance=%s', stripes,
                  declared_stripes, min_balance, max_balance)
      FROM accounts
     WHERE stripes > 0 AND (declared_stripes = 0 OR min_balance IS NOT NULL OR max_balance IS NOT NULL)
    UNION ALL
    SELECT 'below_floor', tenant_id, code,
           format('available=%s min_balance=%s', balance - pending_out, min_balance)
      FROM accounts WHERE balance - pending_out < min_balance
    UNION ALL
    SELECT 'above_ceiling', tenant_id, code,
           format('balance=%s pending_in=%s max_balance=%s', balance, pending_in, max_balance)
      FROM accounts WHERE balance + pending_in > max_balance
    UNION ALL
    SELECT 'entry_unbalanced', tenant_id, entry_id::text, format('currency=%s sum=%s', currency, b)
      FROM per_currency WHERE b <> 0
    UNION ALL
    SELECT 'hold_unbalanced', tenant_id, entry_id::text,
           format('currency=%s pending_out=%s pending_in=%s', currency, o, i)
      FROM per_currency WHERE o <> i
    UNION ALL
    SELECT 'entry_without_postings', tenant_id, entry_id::text, format('status=%s', status)
      FROM entries WHERE postings = 0
    UNION ALL
    SELECT 'status_mismatch', tenant_id, entry_id::text,
           format('status=%s amount=%s reversed=%s posted_legs=%s posted=%s held=%s still_pending=%s',
                  status, amount, reversed_amount, b_postings, b_positive, held, pending_net)
      FROM entries
     WHERE postings > 0 AND NOT CASE status
           WHEN 'pending'  THEN b_postings = 0 AND pending_net > 0 AND held = amount AND reversed_amount = 0
           WHEN 'voided'   THEN b_postings = 0 AND pending_net = 0 AND held = amount AND reversed_amount = 0
           WHEN 'posted'   THEN b_postings > 0 AND pending_net = 0 AND b_positive = amount AND reversed_amount < amount
           WHEN 'reversed' THEN b_postings > 0 AND pending_net = 0 AND b_positive = amount AND reversed_amount = amount
           ELSE false END
    UNION ALL
    -- The kernel posts under its locks, after the entry and its accounts exist (posted_at is
    -- taken then): a posting dated earlier was written around the kernel (backdated).
    SELECT 'posting_before_entry', tenant_id, entry_id::text,
           format('created_at=%s first_posted_at=%s', created_at, first_posted_at)
      FROM entries WHERE first_posted_at < created_at
    UNION ALL
    SELECT 'posting_before_account', tenant_id, code,
           format('created_at=%s first_posted_at=%s', created_at, first_posted_at)
      FROM accounts WHERE first_posted_at < created_at
    UNION ALL
    SELECT 'reversal_mismatch', tenant_id, entry_id::text,
           format('reversed_amount=%s reversals=%s', reversed_amount, reversals)
      FROM entries WHERE reversed_amount <> reversals;
END
$$;
COMMENT ON FUNCTION ledger._verify_all(text) IS
    'Private (ledger.verify, ledger.verify_full): recompute everything from postings: balances and pending columns (stripes included; stripe rows only on striped accounts without limits), per-currency balance of every entry, limits, entry status against its postings, reversal totals, postings dated before their entry or account existed (written around the kernel). No rows = consistent. NULL = every tenant (a tenant-bound role: its own tenants).';
