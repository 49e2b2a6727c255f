-- Workflows open their accounts through this with pgb: codes; ledger.open_account adds
-- the reserved-prefix check for users.
CREATE OR REPLACE FUNCTION ledger._open_account(
    p_tenant text, p_code text, p_currency text, p_min_balance bigint, p_max_balance bigint,
    p_metadata jsonb)
RETURNS SETOF ledger.account_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_existing ledger.account;
    v_id bigint;
BEGIN
    PERFORM ledger._check_currency(p_currency);
    IF p_min_balance > 0 THEN
        PERFORM ledger._raise('22023', 'min_balance must be <= 0 (NULL for no floor)',
            format('min_balance=%s', p_min_balance));
    END IF;
    IF p_max_balance < 0 THEN
        PERFORM ledger._raise('22023', 'max_balance must be >= 0 (NULL for no ceiling)',
            format('max_balance=%s', p_max_balance));
    END IF;
    IF p_metadata IS NOT NULL AND jsonb_typeof(p_metadata) <> 'object' THEN
        PERFORM ledger._raise('22023', 'metadata must be a JSON object',
            format('metadata=%s', left(p_metadata::text, 100)));
    END IF;
    PERFORM ledger._check_json('metadata', p_metadata);

    INSERT INTO ledger.account AS a (tenant_id, code, currency, min_balance, max_balance, metadata)
    VALUES (p_tenant, p_code, p_currency, p_min_balance, p_max_balance, coalesce(p_metadata, '{}'))
    ON CONFLICT ON CONSTRAINT account_code_key DO NOTHING
    RETURNING a.account_id INTO v_id;

    IF v_id IS NULL THEN
        -- A separate statement: a fresh snapshot sees the row a concurrent opener committed.
        SELECT * INTO v_existing FROM ledger.account AS a
         WHERE a.tenant_id = p_tenant AND a.code = p_code;
        PERFORM ledger._check_definition('account', p_code,
            ARRAY[v_existing.currency, v_existing.min_balance::text, v_existing.max_balance::text],
            ARRAY[p_currency, p_min_balance::text, p_max_balance::text]);
    END IF;
    RETURN QUERY SELECT * FROM ledger._account_out(p_tenant, p_code);
END
$$;
COMMENT ON FUNCTION ledger._open_account(text, text, text, bigint, bigint, jsonb) IS
    'Private: open_account without the reserved-prefix check, for workflows.';
