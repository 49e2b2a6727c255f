CREATE OR REPLACE FUNCTION ledger.close_account(p_tenant text, p_code text)
RETURNS TABLE (tenant text, code text, currency text, balance bigint, pending_out bigint,
               pending_in bigint, available bigint, min_balance bigint, max_balance bigint,
               closed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_account ledger.account;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('code', p_code);
    SELECT * INTO v_account FROM ledger.account AS a
     WHERE a.tenant_id = p_tenant AND a.code = p_code
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'account not found', format('account=%s', p_code));
    END IF;
    IF v_account.closed_at IS NULL THEN
        IF v_account.balance <> 0 OR v_account.pending_out <> 0 OR v_account.pending_in <> 0 THEN
            PERFORM ledger._raise('PB004', 'only an account with balance 0 and nothing pending can be closed',
                format('account=%s balance=%s pending_out=%s pending_in=%s', p_code,
                       v_account.balance, v_account.pending_out, v_account.pending_in),
                'Move the balance out and settle or void pending holds first.');
        END IF;
        UPDATE ledger.account AS a SET closed_at = clock_timestamp()
         WHERE a.tenant_id = p_tenant AND a.account_id = v_account.account_id;
    END IF;
    RETURN QUERY SELECT * FROM ledger._account_out(p_tenant, p_code);
END
$$;
COMMENT ON FUNCTION ledger.close_account(text, text) IS
    'Close an account whose balance is 0 with nothing pending (else PB004); closing again returns it unchanged. Movements touching a closed account raise PB007.';
