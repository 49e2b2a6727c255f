-- Moves a tenant's sealed postings out of ledger.posting into ledger.posting_archive (which a
-- DBA can put on another tablespace): those before the horizon of seal p_seal_no, except the
-- postings of holds still pending (capture, void and expiry read and lock them). Every reader
-- of history reads both tables, so statements, balance_at, verify, verify_full and the seal
-- digests are unchanged by it. The rows are copied, then deleted as the ones just copied (a
-- hold captured between the two statements keeps its rows in place); the guards check each
-- row of the move (ledger._guard_archive). Serialised with the tenant's seals by their
-- advisory lock. A write: READ COMMITTED (ledger._check_access, 25000 otherwise).
CREATE OR REPLACE FUNCTION ledger.archive(p_tenant text, p_seal_no bigint)
RETURNS TABLE (tenant text, seal_no bigint, horizon timestamptz, postings bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_horizon timestamptz;
    v_copied bigint;
    v_moved bigint;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM pg_advisory_xact_lock(hashtextextended('pgbalance.seal:' || p_tenant, 0));
    SELECT s.horizon INTO v_horizon FROM ledger.seal AS s
     WHERE s.tenant_id = p_tenant AND s.seal_no = p_seal_no;
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'no such seal',
            format('tenant=%s seal_no=%s', p_tenant, p_seal_no),
            'Archive up to a seal made by ledger.seal (see ledger.seal''s rows).');
    END IF;
    PERFORM set_config('pgbalance.archiving', 'on', true);
    INSERT INTO ledger.posting_archive (tenant_id, entry_id, posting_no, account_id, kind, amount,
                                        posted_at)
    SELECT p.tenant_id, p.entry_id, p.posting_no, p.account_id, p.kind, p.amount, p.posted_at
      FROM ledger.posting AS p
     WHERE p.tenant_id = p_tenant AND p.posted_at < v_horizon
       AND NOT EXISTS (SELECT FROM ledger.entry AS e
                        WHERE e.tenant_id = p_tenant AND e.entry_id = p.entry_id
                          AND e.status = 'pending');
    GET DIAGNOSTICS v_copied = ROW_COUNT;
    DELETE FROM ledger.posting AS p
     USING ledger.posting_archive AS a
     WHERE p.tenant_id = p_tenant AND a.tenant_id = p_tenant AND p.posted_at < v_horizon
       AND a.entry_id = p.entry_id AND a.posting_no = p.posting_no;
    GET DIAGNOSTICS v_moved = ROW_COUNT;
    PERFORM set_config('pgbalance.archiving', 'off', true);
    IF v_moved <> v_copied THEN
        PERFORM ledger._raise('PB009', 'archived postings do not match the postings moved',
            format('tenant=%s seal_no=%s postings=%s', p_tenant, p_seal_no, v_moved),
            'Run ledger.verify_full for this tenant.');
    END IF;
    INSERT INTO ledger.archived (tenant_id, seal_no, postings)
    VALUES (p_tenant, p_seal_no, v_moved);
    RETURN QUERY SELECT p_tenant, p_seal_no, v_horizon, v_moved;
END
$$;
COMMENT ON FUNCTION ledger.archive(text, bigint) IS
    'Move a tenant''s postings sealed by seal p_seal_no (posted before its horizon; holds still pending excepted) into ledger.posting_archive. Statements, balance_at, verify, verify_full and verify_seal read both tables and give the same answers after it. Returns the postings moved; PB005 for an unknown seal.';
