-- Keyset paging: a cursor names the row it follows (posted_at, entry_id, posting_no) and the
-- account's running balance after it, signed with the owner's key (ledger._cursor_mac) over
-- the tenant and the account as well. The next page is an index range scan of
-- posting_account_time_idx after that row, and its balance_after continues from the signed
-- balance, so a page ten million postings deep costs what the first costs.
-- Live and archived postings (ledger.archive) are one union without a WHERE of its own:
-- PostgreSQL then flattens it and merges the two index scans in order (a branch with quals
-- is not flattened, and the page would sort every posting of the account). The functions
-- that run on the Citus coordinator when they span tenants (verify, seal) filter inside each
-- branch instead: the coordinator prunes shards only by those.
CREATE OR REPLACE FUNCTION ledger.statement_page(
    p_tenant text, p_code text, p_after text DEFAULT NULL, p_limit int DEFAULT 100)
RETURNS TABLE (entry_id bigint, posted_at timestamptz, amount bigint, balance_after bigint,
               metadata jsonb, cursor text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_ipad bytea;
    v_opad bytea;
    v_parts text[];
    v_id bigint;
    v_account bigint;
    v_at timestamptz := '-infinity';
    v_entry bigint := 0;
    v_no int := 0;
    v_balance bigint := 0;
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        PERFORM ledger._raise('22023', 'p_limit must be between 1 and 1000',
            format('limit=%s', coalesce(p_limit::text, 'NULL')));
    END IF;
    SELECT k.ipad, k.opad INTO v_ipad, v_opad FROM ledger.cursor_key AS k WHERE k.one;
    IF p_after IS NOT NULL THEN
        -- account . posted_at (microseconds since the epoch) . entry . posting . balance . mac
        v_parts := regexp_match(p_after, '^(\d{1,19})\.(-?\d{1,19})\.(\d{1,19})\.(\d{1,5})\.(-?\d{1,19})\.([0-9a-f]{64})$');
        IF v_parts IS NULL OR v_parts[6] <> ledger._cursor_mac(v_ipad, v_opad,
               concat_ws('.', p_tenant, v_parts[1], v_parts[2], v_parts[3], v_parts[4], v_parts[5])) THEN
            PERFORM ledger._raise('22023', 'p_after is not a cursor of ledger.statement_page',
                format('cursor=%s', left(p_after, 200)),
                'Pass the cursor column of a row statement_page returned for this account, or NULL for the first page.');
        END IF;
        v_account := v_parts[1]::bigint;
        v_at := 'epoch'::timestamptz + v_parts[2]::bigint * interval '1 microsecond';
        v_entry := v_parts[3]::bigint;
        v_no := v_parts[4]::int;
        v_balance := v_parts[5]::bigint;
    END IF;
    v_id := ledger._account_id(p_tenant, p_code);
    IF v_account IS DISTINCT FROM v_id AND p_after IS NOT NULL THEN
        PERFORM ledger._raise('22023', 'p_after is a cursor of another account',
            format('account=%s', p_code),
            'A cursor continues the statement of the account it came from.');
    END IF;
    RETURN QUERY
    SELECT s.entry_id, s.posted_at, s.amount, s.balance_after, e.metadata,
           concat_ws('.', v_id, s.micros, s.entry_id, s.posting_no, s.balance_after,
                     ledger._cursor_mac(v_ipad, v_opad,
                         concat_ws('.', p_tenant, v_id, s.micros, s.entry_id, s.posting_no,
                                   s.balance_after)))
      FROM (SELECT p.entry_id, p.posting_no, p.posted_at, p.amount,
                   (extract(epoch FROM p.posted_at) * 1000000)::bigint AS micros,
                   (v_balance + sum(p.amount) OVER (ORDER BY p.posted_at, p.entry_id, p.posting_no))::bigint
                       AS balance_after
              FROM (SELECT p.entry_id, p.posting_no, p.posted_at, p.amount
                      FROM (SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting AS x
                            UNION ALL
                            SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting_archive AS x) AS p
                     WHERE p.tenant_id = p_tenant AND p.account_id = v_id AND p.kind = 'B'
                       AND (p.posted_at, p.entry_id, p.posting_no) > (v_at, v_entry, v_no)
                     ORDER BY p.posted_at, p.entry_id, p.posting_no
                     LIMIT p_limit) AS p) AS s
      JOIN ledger.entry AS e ON e.tenant_id = p_tenant AND e.entry_id = s.entry_id
     ORDER BY s.posted_at, s.entry_id, s.posting_no;
END
$$;
COMMENT ON FUNCTION ledger.statement_page(text, text, text, int) IS
    'One page of an account''s statement (the order and balance_after of ledger.statement): at most p_limit rows (1..1000) after the row whose cursor is p_after (NULL: from the first). Cursors are opaque and signed; another account''s is 22023. Cost independent of the page''s depth.';
