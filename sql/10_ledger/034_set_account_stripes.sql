-- Hot accounts (docs/performance.md): spread an account's amounts over p_stripes rows so that
-- concurrent movements into it do not queue behind its one row lock. Only for an account with
-- no floor and no ceiling (nothing is checked against it). One-way: a striped account stays
-- striped (p_stripes may change, never back to 0), so a movement never sees it switch back to
-- a locked row between its statements. The price: overlapping movements into a striped
-- account are not serialised, so its statement lists them in the order they took their locks,
-- which can differ from the order they committed. Workflow accounts (pgb: codes) may be
-- striped too: striping moves no money.
CREATE OR REPLACE FUNCTION ledger.set_account_stripes(p_tenant text, p_code text, p_stripes integer)
RETURNS SETOF ledger.account_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_account ledger.account;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('code', p_code, false);
    IF p_stripes IS NULL OR p_stripes NOT BETWEEN 1 AND 64 THEN
        PERFORM ledger._raise('22023', 'stripes must be between 1 and 64',
            format('stripes=%s', coalesce(p_stripes::text, 'NULL')),
            'Striping is one-way: a striped account stays striped.');
    END IF;
    -- FOR UPDATE waits for every movement holding the account, striped or not.
    SELECT * INTO v_account FROM ledger.account AS a
     WHERE a.tenant_id = p_tenant AND a.code = p_code
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'account not found', format('account=%s', p_code));
    END IF;
    IF v_account.min_balance IS NOT NULL OR v_account.max_balance IS NOT NULL THEN
        PERFORM ledger._raise('PB004', 'only an account with no floor and no ceiling can be striped',
            format('account=%s min_balance=%s max_balance=%s', p_code,
                   coalesce(v_account.min_balance::text, 'NULL'),
                   coalesce(v_account.max_balance::text, 'NULL')),
            'Limits are checked against the account''s one locked row.');
    END IF;
    IF v_account.stripes <> p_stripes THEN
        UPDATE ledger.account AS a SET stripes = p_stripes
         WHERE a.tenant_id = p_tenant AND a.account_id = v_account.account_id;
    END IF;
    RETURN QUERY SELECT * FROM ledger._account_out(p_tenant, p_code);
END
$$;
COMMENT ON FUNCTION ledger.set_account_stripes(text, text, integer) IS
    'Spread a hot account''s amounts over p_stripes (1..64) rows so concurrent movements into it do not queue; only for an account with no floor and no ceiling (else PB004). One-way. Overlapping movements into a striped account are listed by its statement in lock order, not necessarily commit order. Returns the account.';
