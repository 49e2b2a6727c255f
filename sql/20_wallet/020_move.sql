-- The shared path of topup and purchase: validate, claim the reference (the tx row), let the
-- kernel move the money, record the entry. The wallet account's floor (min_balance 0) is the
-- only overdraft rule: the kernel raises PB001 and the claim rolls back with the call.
CREATE OR REPLACE FUNCTION wallet._move(
    p_tenant text, p_user text, p_kind text, p_amount bigint, p_reference text, p_items jsonb)
RETURNS SETOF wallet.tx_result
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_wallet wallet.wallet;
    v_tx wallet.tx;
    v_claimed boolean;
    v_codes text[];
    v_entry_id bigint;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_reference('user', p_user);
    PERFORM ledger._check_amount('amount', p_amount);
    PERFORM ledger._check_reference('reference', p_reference);
    IF p_items IS NOT NULL AND jsonb_typeof(p_items) <> 'array' THEN
        PERFORM ledger._raise('22023', 'items must be a JSON array',
            format('items=%s', left(p_items::text, 100)));
    END IF;
    PERFORM ledger._check_json('items', p_items);

    SELECT * INTO v_wallet FROM wallet.wallet AS w
     WHERE w.tenant_id = p_tenant AND w.user_id = p_user;
    IF FOUND THEN
        -- The claim: a concurrent call with the same reference waits here until this one ends.
        INSERT INTO wallet.tx AS t (tenant_id, reference, user_id, kind, amount, items)
        VALUES (p_tenant, p_reference, p_user, p_kind, p_amount, coalesce(p_items, '[]'))
        ON CONFLICT ON CONSTRAINT tx_pkey DO NOTHING
        RETURNING true INTO v_claimed;
    END IF;
    IF v_claimed IS NULL THEN
        -- A separate statement: a fresh snapshot sees the winner's committed row.
        SELECT * INTO v_tx FROM wallet.tx AS t
         WHERE t.tenant_id = p_tenant AND t.reference = p_reference;
        IF FOUND THEN
            IF (v_tx.user_id, v_tx.kind, v_tx.amount) IS DISTINCT FROM (p_user, p_kind, p_amount) THEN
                PERFORM ledger._raise('PB003', 'wallet reference reused with different parameters',
                    format('reference=%s existing=(%s,%s,%s) requested=(%s,%s,%s)', p_reference,
                           v_tx.user_id, v_tx.kind, v_tx.amount, p_user, p_kind, p_amount),
                    'A reference names one top-up or purchase; retry it with exactly the same user and amount.');
            END IF;
            RETURN QUERY SELECT * FROM wallet._tx_out(p_tenant, p_reference, true);
            RETURN;
        END IF;
        PERFORM ledger._raise('PB005', 'wallet not found', format('user=%s', p_user),
            'Open it first with wallet.open.');
    END IF;

    v_codes := CASE p_kind
        WHEN 'topup' THEN ARRAY[wallet._funding_account(v_wallet.currency), v_wallet.account_code]
        ELSE ARRAY[v_wallet.account_code, wallet._revenue_account(v_wallet.currency)] END;
    SELECT e.entry_id INTO v_entry_id
      FROM ledger._post(p_tenant, 'pgb:wallet:tx:' || p_reference, v_codes,
                        ARRAY[-p_amount, p_amount],
                        jsonb_build_object('workflow', 'wallet', 'kind', p_kind,
                                           'user', p_user, 'reference', p_reference),
                        p_pending => false, p_expires_at => NULL, p_one_currency => true, p_user => false) AS e;
    UPDATE wallet.tx AS t SET entry_id = v_entry_id
     WHERE t.tenant_id = p_tenant AND t.reference = p_reference;
    RETURN QUERY SELECT * FROM wallet._tx_out(p_tenant, p_reference, false);
END
$$;
COMMENT ON FUNCTION wallet._move(text, text, text, bigint, text, jsonb) IS
    'Private: the shared path of wallet.topup and wallet.purchase (claim the reference, post through the kernel).';
