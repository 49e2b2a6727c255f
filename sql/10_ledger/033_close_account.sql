CREATE OR REPLACE FUNCTION ledger.close_account(p_tenant text, p_code text)
RETURNS SETOF ledger.account_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now timestamptz;
    v_account ledger.account;
    v_out record;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('code', p_code);
    -- FOR UPDATE: it also waits for movements into a striped account, which hold only a
    -- FOR KEY SHARE lock on it (ledger._apply_legs) and keep their amounts in its stripes.
    SELECT * INTO v_account FROM ledger.account AS a
     WHERE a.tenant_id = p_tenant AND a.code = p_code
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'account not found', format('account=%s', p_code));
    END IF;
    IF v_account.closed_at IS NULL THEN
        -- A new statement, so a new snapshot: it sees every movement the lock waited for.
        SELECT * INTO v_out FROM ledger._account_out(p_tenant, p_code);
        IF v_out.balance <> 0 OR v_out.pending_out <> 0 OR v_out.pending_in <> 0 THEN
            PERFORM ledger._raise('PB004', 'only an account with balance 0 and nothing pending can be closed',
                format('account=%s balance=%s pending_out=%s pending_in=%s', p_code,
                       v_out.balance, v_out.pending_out, v_out.pending_in),
                'Move the balance out and settle or void pending holds first.');
        END IF;
        v_now := clock_timestamp();  -- not in the UPDATE: Citus refuses VOLATILE calls there
        UPDATE ledger.account AS a SET closed_at = v_now
         WHERE a.tenant_id = p_tenant AND a.account_id = v_account.account_id;
    END IF;
    RETURN QUERY SELECT * FROM ledger._account_out(p_tenant, p_code);
END
$$;
COMMENT ON FUNCTION ledger.close_account(text, text) IS
    'Close an account whose balance is 0 with nothing pending (else PB004); closing again returns it unchanged. Movements touching a closed account raise PB007.';
