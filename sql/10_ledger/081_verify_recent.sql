-- The checks of ledger._verify_all over what can have changed since a tenant's last seal,
-- so their cost follows what came after it, not the whole history:
--   accounts: balance and pending columns (row plus stripes) against the account's last
--   checkpoint plus its postings since the horizon; limits; stripe rows.
--   entries: those with a posting since the horizon, those created after the seal, and the
--   entries these reverse: per-currency sums, status against all their postings, reversals.
-- Sealed history itself is covered by the chain (ledger.verify_full, ledger.verify_seal).
-- Linear in the number of accounts (an index probe for each one's last checkpoint): about
-- 20 us per account (docs/performance.md, "History").
CREATE OR REPLACE FUNCTION ledger._verify_recent(p_tenant text)
RETURNS SETOF ledger.verify_result
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
-- Its plan's cost passes jit_inline_above_cost and jit_optimize_above_cost from about 50,000
-- accounts on (one checkpoint probe each), and compiling its dozen branches then took 12 s of
-- a 16 s verify at 100,000 accounts: more than the work it would speed up.
SET jit = off
AS $$
DECLARE
    v_seal bigint;
    v_horizon timestamptz;
    v_max_entry bigint;
BEGIN
    SELECT s.seal_no, s.horizon, s.max_entry_id INTO v_seal, v_horizon, v_max_entry
      FROM ledger.seal AS s
     WHERE s.tenant_id = p_tenant
     ORDER BY s.seal_no DESC
     LIMIT 1;
    RETURN QUERY
    WITH recent AS MATERIALIZED (
        SELECT p.entry_id, p.account_id, p.kind, p.amount, p.posted_at
          FROM ledger.posting AS p
         WHERE p.tenant_id = p_tenant AND p.posted_at >= v_horizon
    ), per_account AS (
        SELECT r.account_id,
               coalesce(sum(r.amount) FILTER (WHERE r.kind = 'B'), 0) AS b,
               coalesce(sum(r.amount) FILTER (WHERE r.kind = 'O'), 0) AS o,
               coalesce(sum(r.amount) FILTER (WHERE r.kind = 'I'), 0) AS i,
               min(r.posted_at) AS first_posted_at
          FROM recent AS r
         GROUP BY r.account_id
    ), per_stripe AS (
        SELECT x.account_id, sum(x.balance) AS b, sum(x.pending_out) AS o,
               sum(x.pending_in) AS i, count(*) AS stripes
          FROM ledger.account_stripe AS x
         WHERE x.tenant_id = p_tenant
         GROUP BY x.account_id
    ), accounts AS (
        SELECT a.code, a.balance + coalesce(x.b, 0) AS balance,
               a.pending_out + coalesce(x.o, 0) AS pending_out,
               a.pending_in + coalesce(x.i, 0) AS pending_in, a.min_balance, a.max_balance,
               coalesce(c.balance, 0) + coalesce(s.b, 0) AS b,
               coalesce(c.pending_out, 0) + coalesce(s.o, 0) AS o,
               coalesce(c.pending_in, 0) + coalesce(s.i, 0) AS i,
               coalesce(x.stripes, 0) AS stripes, a.stripes AS declared_stripes,
               a.created_at, s.first_posted_at
          FROM ledger.account AS a
          LEFT JOIN per_account AS s ON s.account_id = a.account_id
          LEFT JOIN per_stripe AS x ON x.account_id = a.account_id
          LEFT JOIN LATERAL (
                SELECT c.balance, c.pending_out, c.pending_in FROM ledger.seal_balance AS c
                 WHERE c.tenant_id = p_tenant AND c.account_id = a.account_id AND c.seal_no <= v_seal
                 ORDER BY c.seal_no DESC
                 LIMIT 1) AS c ON true
         WHERE a.tenant_id = p_tenant
    ), touched AS (
        -- Entry ids as arrays from here on, so that every lookup below is an index probe,
        -- never a scan of the tenant's history.
        SELECT ARRAY(SELECT DISTINCT r.entry_id FROM recent AS r
                     UNION
                     SELECT e.entry_id FROM ledger.entry AS e
                      WHERE e.tenant_id = p_tenant AND e.entry_id > v_max_entry) AS ids
    ), scope AS MATERIALIZED (
        SELECT ARRAY(SELECT unnest(t.ids)
                     UNION
                     SELECT e.reverses_entry_id FROM ledger.entry AS e
                      WHERE e.tenant_id = p_tenant AND e.reverses_entry_id IS NOT NULL
                        AND e.entry_id = ANY (t.ids)) AS ids
          FROM touched AS t
    ), postings AS MATERIALIZED (
        SELECT p.entry_id, p.account_id, p.kind, p.amount, p.posted_at
          FROM (SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting AS x WHERE x.tenant_id = p_tenant
                UNION ALL
                SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting_archive AS x WHERE x.tenant_id = p_tenant) AS p
         WHERE p.tenant_id = p_tenant AND p.entry_id = ANY ((SELECT s.ids FROM scope AS s)::bigint[])
    ), per_currency AS (
        SELECT p.entry_id, a.currency,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'B'), 0) AS b,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'O'), 0) AS o,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'I'), 0) AS i
          FROM postings AS p
          JOIN ledger.account AS a ON a.tenant_id = p_tenant AND a.account_id = p.account_id
         GROUP BY p.entry_id, a.currency
    ), reversed AS (
        SELECT r.reverses_entry_id AS entry_id, sum(r.amount) AS total
          FROM ledger.entry AS r
         WHERE r.tenant_id = p_tenant
           AND r.reverses_entry_id = ANY ((SELECT s.ids FROM scope AS s)::bigint[])
         GROUP BY r.reverses_entry_id
    ), entries AS (
        SELECT e.entry_id, e.status, e.amount, e.reversed_amount, e.created_at,
               min(p.posted_at) AS first_posted_at,
               count(p.entry_id) AS postings,
               count(p.entry_id) FILTER (WHERE p.kind = 'B') AS b_postings,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'B' AND p.amount > 0), 0) AS b_positive,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'I' AND p.amount > 0), 0) AS held,
               coalesce(sum(p.amount) FILTER (WHERE p.kind <> 'B'), 0) AS pending_net,
               coalesce(min(x.total), 0) AS reversals
          FROM ledger.entry AS e
          LEFT JOIN postings AS p ON p.entry_id = e.entry_id
          LEFT JOIN reversed AS x ON x.entry_id = e.entry_id
         WHERE e.tenant_id = p_tenant AND e.entry_id = ANY ((SELECT s.ids FROM scope AS s)::bigint[])
         GROUP BY e.tenant_id, e.entry_id
    )
    SELECT 'balance_mismatch', p_tenant, a.code, format('balance=%s postings=%s', a.balance, a.b)
      FROM accounts AS a WHERE a.balance <> a.b
    UNION ALL
    SELECT 'pending_out_mismatch', p_tenant, a.code, format('pending_out=%s postings=%s', a.pending_out, a.o)
      FROM accounts AS a WHERE a.pending_out <> a.o
    UNION ALL
    SELECT 'pending_in_mismatch', p_tenant, a.code, format('pending_in=%s postings=%s', a.pending_in, a.i)
      FROM accounts AS a WHERE a.pending_in <> a.i
    UNION ALL
    SELECT 'stripes_not_allowed', p_tenant, a.code,
           format('stripe_rows=%s stripes=%s min_balance=%s max_balance=%s', a.stripes,
                  a.declared_stripes, a.min_balance, a.max_balance)
      FROM accounts AS a
     WHERE a.stripes > 0
       AND (a.declared_stripes = 0 OR a.min_balance IS NOT NULL OR a.max_balance IS NOT NULL)
    UNION ALL
    SELECT 'below_floor', p_tenant, a.code,
           format('available=%s min_balance=%s', a.balance - a.pending_out, a.min_balance)
      FROM accounts AS a WHERE a.balance - a.pending_out < a.min_balance
    UNION ALL
    SELECT 'above_ceiling', p_tenant, a.code,
           format('balance=%s pending_in=%s max_balance=%s', a.balance, a.pending_in, a.max_balance)
      FROM accounts AS a WHERE a.balance + a.pending_in > a.max_balance
    UNION ALL
    SELECT 'entry_unbalanced', p_tenant, c.entry_id::text, format('currency=%s sum=%s', c.currency, c.b)
      FROM per_currency AS c WHERE c.b <> 0
    UNION ALL
    SELECT 'hold_unbalanced', p_tenant, c.entry_id::text,
           format('currency=%s pending_out=%s pending_in=%s', c.currency, c.o, c.i)
      FROM per_currency AS c WHERE c.o <> c.i
    UNION ALL
    SELECT 'entry_without_postings', p_tenant, e.entry_id::text, format('status=%s', e.status)
      FROM entries AS e WHERE e.postings = 0
    UNION ALL
    SELECT 'status_mismatch', p_tenant, e.entry_id::text,
           format('status=%s amount=%s reversed=%s posted_legs=%s posted=%s held=%s still_pending=%s',
                  e.status, e.amount, e.reversed_amount, e.b_postings, e.b_positive, e.held, e.pending_net)
      FROM entries AS e
     WHERE e.postings > 0 AND NOT CASE e.status
           WHEN 'pending'  THEN e.b_postings = 0 AND e.pending_net > 0 AND e.held = e.amount AND e.reversed_amount = 0
           WHEN 'voided'   THEN e.b_postings = 0 AND e.pending_net = 0 AND e.held = e.amount AND e.reversed_amount = 0
           WHEN 'posted'   THEN e.b_postings > 0 AND e.pending_net = 0 AND e.b_positive = e.amount AND e.reversed_amount < e.amount
           WHEN 'reversed' THEN e.b_postings > 0 AND e.pending_net = 0 AND e.b_positive = e.amount AND e.reversed_amount = e.amount
           ELSE false END
    UNION ALL
    SELECT 'posting_before_entry', p_tenant, e.entry_id::text,
           format('created_at=%s first_posted_at=%s', e.created_at, e.first_posted_at)
      FROM entries AS e WHERE e.first_posted_at < e.created_at
    UNION ALL
    -- Postings since the horizon only: an account's earlier ones are sealed.
    SELECT 'posting_before_account', p_tenant, a.code,
           format('created_at=%s first_posted_at=%s', a.created_at, a.first_posted_at)
      FROM accounts AS a WHERE a.first_posted_at < a.created_at
    UNION ALL
    SELECT 'reversal_mismatch', p_tenant, e.entry_id::text,
           format('reversed_amount=%s reversals=%s', e.reversed_amount, e.reversals)
      FROM entries AS e WHERE e.reversed_amount <> e.reversals;
END
$$;
COMMENT ON FUNCTION ledger._verify_recent(text) IS
    'Private (ledger.verify): the checks of ledger._verify_all for a sealed tenant over accounts (from their last checkpoint) and the entries touched since its last seal.';
