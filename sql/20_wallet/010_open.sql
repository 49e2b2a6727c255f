CREATE OR REPLACE FUNCTION wallet.open(p_tenant text, p_user text, p_currency text)
RETURNS SETOF wallet.wallet_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_existing wallet.wallet;
    v_claimed boolean;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_reference('user', p_user);
    PERFORM ledger._check_currency(p_currency);

    SELECT * INTO v_existing FROM wallet.wallet AS w
     WHERE w.tenant_id = p_tenant AND w.user_id = p_user;
    IF NOT FOUND THEN
        -- The tenant's counterpart accounts, then the wallet's own account (the wallet row's
        -- foreign key needs it). A concurrent opener of the same user waits on the account
        -- insert and then sees this definition.
        PERFORM FROM ledger._open_account(p_tenant, wallet._funding_account(p_currency), p_currency,
            NULL, NULL, jsonb_build_object('workflow', 'wallet', 'role', 'funding'));
        PERFORM FROM ledger._open_account(p_tenant, wallet._revenue_account(p_currency), p_currency,
            NULL, NULL, jsonb_build_object('workflow', 'wallet', 'role', 'revenue'));
        -- A user of another currency already holding this account raises PB003 here.
        PERFORM FROM ledger._open_account(p_tenant, 'pgb:wallet:' || p_user, p_currency, 0, NULL,
            jsonb_build_object('workflow', 'wallet', 'user', p_user));
        INSERT INTO wallet.wallet AS w (tenant_id, user_id, currency, account_code)
        VALUES (p_tenant, p_user, p_currency, 'pgb:wallet:' || p_user)
        ON CONFLICT ON CONSTRAINT wallet_pkey DO NOTHING
        RETURNING true INTO v_claimed;
        IF v_claimed IS NULL THEN
            SELECT * INTO v_existing FROM wallet.wallet AS w
             WHERE w.tenant_id = p_tenant AND w.user_id = p_user;
        END IF;
    END IF;
    IF v_existing.currency <> p_currency THEN
        PERFORM ledger._raise('PB003', 'wallet already exists in another currency',
            format('user=%s existing=%s requested=%s', p_user, v_existing.currency, p_currency));
    END IF;
    RETURN QUERY SELECT * FROM wallet._wallet_out(p_tenant, p_user);
END
$$;
COMMENT ON FUNCTION wallet.open(text, text, text) IS
    'Open the wallet of p_user in p_currency (a kernel account pgb:wallet:<user> with min_balance 0); again with the same currency returns it, with another PB003. 22023 for an empty/over-long user or a malformed currency.';
