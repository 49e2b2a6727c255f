CREATE OR REPLACE FUNCTION ledger._reverse(
    p_tenant text, p_key text, p_entry_id bigint, p_amount bigint, p_metadata jsonb, p_user boolean)
RETURNS SETOF ledger.movement_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_fingerprint uuid;
    v_reversal_id bigint;
    v_original ledger.entry;
    v_codes text[];
    v_amounts bigint[];
    v_closed text;
    v_remaining bigint;
    v_reverse bigint;
    v_applied record;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('key', p_key, p_user);
    IF p_entry_id IS NULL THEN
        PERFORM ledger._raise('22023', 'entry_id must not be NULL');
    END IF;
    PERFORM ledger._check_amount('amount', p_amount, true);
    IF p_metadata IS NOT NULL AND jsonb_typeof(p_metadata) <> 'object' THEN
        PERFORM ledger._raise('22023', 'metadata must be a JSON object');
    END IF;
    PERFORM ledger._check_json('metadata', p_metadata);

    v_fingerprint := md5(jsonb_build_array('reverse', p_entry_id, p_amount)::text)::uuid;
    -- The amount is fixed once the original is locked; 1 holds the CHECK until then.
    INSERT INTO ledger.entry AS e (tenant_id, idempotency_key, fingerprint, status, amount, metadata)
    VALUES (p_tenant, p_key, v_fingerprint, 'posted', 1, coalesce(p_metadata, '{}'))
    ON CONFLICT (tenant_id, (md5(idempotency_key)::uuid)) DO NOTHING
    RETURNING e.entry_id INTO v_reversal_id;
    IF v_reversal_id IS NULL THEN
        RETURN QUERY SELECT * FROM ledger._replay(p_tenant, p_key, v_fingerprint);
        RETURN;
    END IF;
    -- The entry just claimed did not exist when this call began: a caller guessing the next
    -- id would otherwise make the reversal reverse itself (an entry without postings).
    IF p_entry_id = v_reversal_id THEN
        PERFORM ledger._raise('PB005', 'entry not found', format('entry_id=%s', p_entry_id));
    END IF;

    v_original := ledger._lock_entry(p_tenant, p_entry_id);
    IF p_user THEN
        PERFORM ledger._check_user_entry(p_entry_id, v_original.idempotency_key, 'reversed');
    END IF;
    SELECT array_agg(a.code ORDER BY b.first_no), array_agg(b.amount ORDER BY b.first_no),
           min(a.code) FILTER (WHERE a.closed_at IS NOT NULL)
      INTO v_codes, v_amounts, v_closed
      FROM (SELECT p.account_id, sum(p.amount)::bigint AS amount, min(p.posting_no) AS first_no
              FROM (SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting AS x
                    UNION ALL
                    SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting_archive AS x) AS p
             WHERE p.tenant_id = p_tenant AND p.entry_id = p_entry_id AND p.kind = 'B'
             GROUP BY p.account_id) AS b
      JOIN ledger.account AS a ON a.tenant_id = p_tenant AND a.account_id = b.account_id;
    IF v_closed IS NOT NULL THEN
        PERFORM ledger._raise('PB007', 'account is closed', format('account=%s', v_closed));
    END IF;
    IF v_original.status <> 'posted' THEN
        PERFORM ledger._raise('PB004', format('a %s entry cannot be reversed',
                CASE v_original.status WHEN 'reversed' THEN 'fully reversed' ELSE v_original.status END),
            format('entry_id=%s status=%s', p_entry_id, v_original.status),
            'Only posted movements can be reversed; void a pending hold instead.');
    END IF;
    v_remaining := v_original.amount - v_original.reversed_amount;
    IF p_amount IS NOT NULL AND cardinality(v_codes) <> 2 AND p_amount <> v_original.amount THEN
        PERFORM ledger._raise('22023', 'partial reversal is only possible for two-leg entries',
            format('entry_id=%s legs=%s amount=%s requested=%s', p_entry_id, cardinality(v_codes),
                   v_original.amount, p_amount));
    END IF;
    v_reverse := coalesce(p_amount, v_remaining);
    IF v_reverse > v_remaining THEN
        PERFORM ledger._raise('PB002', 'reversal exceeds what remains of the entry',
            format('entry_id=%s amount=%s reversed=%s remaining=%s requested=%s', p_entry_id,
                   v_original.amount, v_original.reversed_amount, v_remaining, v_reverse));
    END IF;

    IF cardinality(v_codes) = 2 THEN
        v_amounts := ARRAY[-sign(v_amounts[1]) * v_reverse, -sign(v_amounts[2]) * v_reverse];
    ELSE
        v_amounts := (SELECT array_agg(-x ORDER BY o) FROM unnest(v_amounts) WITH ORDINALITY AS u(x, o));
    END IF;
    v_applied := ledger._apply_legs(p_tenant, ARRAY[p_key], ARRAY[v_reversal_id], NULL, NULL,
        array_fill(1, ARRAY[cardinality(v_codes)]), v_codes, v_amounts,
        p_pending => false, p_one_currency => false, p_atomic => true);
    IF v_applied.error_codes[1] IS NOT NULL THEN
        PERFORM ledger._raise(v_applied.error_codes[1], v_applied.messages[1], v_applied.details[1],
            v_applied.hints[1]);
    END IF;
    UPDATE ledger.entry AS e SET amount = v_reverse, reverses_entry_id = p_entry_id
     WHERE e.tenant_id = p_tenant AND e.entry_id = v_reversal_id;
    UPDATE ledger.entry AS e
       SET reversed_amount = e.reversed_amount + v_reverse,
           status = CASE WHEN e.reversed_amount + v_reverse = e.amount THEN 'reversed' ELSE e.status END
     WHERE e.tenant_id = p_tenant AND e.entry_id = p_entry_id;
    RETURN QUERY SELECT v_reversal_id, 'posted'::text, false;
END
$$;
COMMENT ON FUNCTION ledger._reverse(text, text, bigint, bigint, jsonb, boolean) IS
    'Private: ledger.reverse; p_user = false (workflows) allows pgb: keys and reversing the workflow''s own pgb: entries.';
