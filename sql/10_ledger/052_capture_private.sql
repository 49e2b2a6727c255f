-- ledger.capture's body; p_user = false is the path of the workflow that made the hold.
CREATE OR REPLACE FUNCTION ledger._capture(p_tenant text, p_entry_id bigint, p_amount bigint, p_user boolean)
RETURNS SETOF ledger.movement_result
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_entry ledger.entry;
    v_legs int;
BEGIN
    PERFORM ledger._check_amount('amount', p_amount, true);
    v_entry := ledger._lock_entry(p_tenant, p_entry_id);
    IF p_user THEN
        PERFORM ledger._check_user_entry(v_entry.entry_id, v_entry.idempotency_key, 'captured');
    END IF;
    SELECT count(*) INTO v_legs FROM (SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting AS x
                                      UNION ALL
                                      SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting_archive AS x) AS p
     WHERE p.tenant_id = p_tenant AND p.entry_id = p_entry_id AND p.kind <> 'B' AND p.amount > 0;
    IF v_legs = 0 THEN
        PERFORM ledger._raise('PB004', 'entry is not a hold', format('entry_id=%s status=%s', p_entry_id, v_entry.status));
    END IF;
    IF v_entry.status IN ('posted', 'reversed') THEN
        IF p_amount IS NULL OR p_amount = v_entry.amount THEN
            RETURN QUERY SELECT v_entry.entry_id, v_entry.status, true;
            RETURN;
        END IF;
        PERFORM ledger._raise('PB003', 'hold already captured with a different amount',
            format('entry_id=%s captured=%s requested=%s', p_entry_id, v_entry.amount, p_amount));
    END IF;
    IF v_entry.status = 'voided' THEN
        PERFORM ledger._raise('PB004', 'a voided hold cannot be captured', format('entry_id=%s', p_entry_id));
    END IF;
    IF v_entry.expires_at <= clock_timestamp() THEN
        PERFORM ledger._raise('PB004', 'the hold has expired',
            format('entry_id=%s expires_at=%s', p_entry_id, v_entry.expires_at),
            'An expired hold can only be voided (ledger.void or ledger.expire_holds).');
    END IF;
    IF p_amount > v_entry.amount THEN
        PERFORM ledger._raise('PB002', 'capture exceeds the held amount',
            format('entry_id=%s held=%s requested=%s', p_entry_id, v_entry.amount, p_amount));
    END IF;
    IF p_amount < v_entry.amount AND v_legs <> 2 THEN
        PERFORM ledger._raise('22023', 'partial capture is only possible for two-leg holds',
            format('entry_id=%s legs=%s held=%s requested=%s', p_entry_id, v_legs, v_entry.amount, p_amount));
    END IF;

    PERFORM ledger._release_hold(p_tenant, p_entry_id, coalesce(p_amount, v_entry.amount));
    UPDATE ledger.entry AS e SET status = 'posted', amount = coalesce(p_amount, v_entry.amount)
     WHERE e.tenant_id = p_tenant AND e.entry_id = p_entry_id;
    RETURN QUERY SELECT v_entry.entry_id, 'posted'::text, false;
END
$$;
COMMENT ON FUNCTION ledger._capture(text, bigint, bigint, boolean) IS
    'Private: ledger.capture; p_user = false lets a workflow capture its own pgb: hold.';
