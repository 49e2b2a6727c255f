-- The shared path of transfer, post_entry and hold: validate, claim the key, apply the legs.
-- p_user: names come from a caller outside pgbalance and may not use the pgb: prefix.
CREATE OR REPLACE FUNCTION ledger._post(
    p_tenant text, p_key text, p_codes text[], p_amounts bigint[], p_metadata jsonb,
    p_pending boolean, p_expires_at timestamptz, p_one_currency boolean, p_user boolean)
RETURNS TABLE (entry_id bigint, status text, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_n int := coalesce(cardinality(p_codes), 0);
    v_sum numeric := 0;
    v_positive numeric := 0;
    v_fingerprint uuid;
    v_repeated boolean;
    v_unbalanced text;
    v_entry_id bigint;
    v_status text := CASE WHEN p_pending THEN 'pending' ELSE 'posted' END;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('key', p_key, p_user);
    IF v_n < 2 OR v_n <> coalesce(cardinality(p_amounts), 0) THEN
        PERFORM ledger._raise('22023', 'a movement needs at least two legs', format('legs=%s', v_n));
    END IF;
    -- A hold's postings, their release and the capture number 3 x legs (posting_no is smallint).
    IF v_n > 1000 THEN
        PERFORM ledger._raise('22023', 'a movement has at most 1000 legs', format('legs=%s', v_n));
    END IF;
    FOR i IN 1 .. v_n LOOP
        PERFORM ledger._check_name('account', p_codes[i], p_user);
        IF p_amounts[i] IS NULL OR p_amounts[i] = 0 THEN
            PERFORM ledger._raise('22023', 'every leg needs a non-zero amount',
                format('account=%s amount=%s', p_codes[i], coalesce(p_amounts[i]::text, 'NULL')));
        END IF;
        v_sum := v_sum + p_amounts[i];
        IF p_amounts[i] > 0 THEN
            v_positive := v_positive + p_amounts[i];
        END IF;
    END LOOP;
    -- Two legs compare directly: a subquery would send the whole condition to the executor.
    IF v_n = 2 THEN
        v_repeated := p_codes[1] = p_codes[2];
    ELSE
        v_repeated := (SELECT count(DISTINCT c) FROM unnest(p_codes) AS c) <> v_n;
    END IF;
    IF v_repeated THEN
        PERFORM ledger._raise('22023', 'the same account appears twice in one movement',
            format('accounts=%s', array_to_string(p_codes, ',')));
    END IF;
    IF v_sum <> 0 THEN
        PERFORM ledger._raise('22023', 'legs must sum to 0', format('sum=%s', v_sum));
    END IF;
    IF v_positive > 9223372036854775807 THEN
        PERFORM ledger._raise('22023', 'the movement is larger than a bigint can hold',
            format('amount=%s', v_positive));
    END IF;
    IF p_metadata IS NOT NULL AND jsonb_typeof(p_metadata) <> 'object' THEN
        PERFORM ledger._raise('22023', 'metadata must be a JSON object',
            format('metadata=%s', left(p_metadata::text, 100)));
    END IF;

    -- Legs that do not sum to 0 per currency are malformed input (22023), decided before the
    -- key is claimed (check order). Currencies never change, so reading them unlocked is
    -- safe; with an unknown account the call goes on to PB005. Single-currency movements
    -- (transfer, hold) skip this: mixed currencies are PB006 for them (ledger._apply_legs).
    IF NOT p_one_currency THEN
        WITH l AS (
            SELECT a.currency, u.amount
              FROM unnest(p_codes, p_amounts) AS u(code, amount)
              LEFT JOIN ledger.account AS a ON a.tenant_id = p_tenant AND a.code = u.code)
        SELECT format('currency=%s sum=%s', c.currency, c.total) INTO v_unbalanced
          FROM (SELECT l.currency, sum(l.amount) AS total FROM l GROUP BY l.currency) AS c
         WHERE c.total <> 0 AND NOT EXISTS (SELECT FROM l WHERE l.currency IS NULL)
         ORDER BY c.currency
         LIMIT 1;
        IF v_unbalanced IS NOT NULL THEN
            PERFORM ledger._raise('22023', 'legs must sum to 0 in each currency', v_unbalanced);
        END IF;
    END IF;

    -- Order-insensitive: the same legs in another order are the same movement.
    -- Two legs (transfers, holds) skip the subquery; the text hashed is the same.
    IF v_n = 2 THEN
        v_fingerprint := md5(jsonb_build_array(
            CASE WHEN p_codes[1] < p_codes[2]
                 THEN jsonb_build_array(jsonb_build_array(p_codes[1], p_amounts[1]),
                                        jsonb_build_array(p_codes[2], p_amounts[2]))
                 ELSE jsonb_build_array(jsonb_build_array(p_codes[2], p_amounts[2]),
                                        jsonb_build_array(p_codes[1], p_amounts[1])) END,
            p_pending, extract(epoch FROM p_expires_at))::text)::uuid;
    ELSE
        v_fingerprint := md5(jsonb_build_array(
            (SELECT jsonb_agg(jsonb_build_array(u.c, u.a) ORDER BY u.c)
               FROM unnest(p_codes, p_amounts) AS u(c, a)),
            p_pending, extract(epoch FROM p_expires_at))::text)::uuid;
    END IF;

    INSERT INTO ledger.entry AS e (tenant_id, idempotency_key, fingerprint, status, amount,
                                   expires_at, metadata)
    VALUES (p_tenant, p_key, v_fingerprint, v_status, v_positive::bigint, p_expires_at,
            coalesce(p_metadata, '{}'))
    ON CONFLICT (tenant_id, (md5(idempotency_key)::uuid)) DO NOTHING
    RETURNING e.entry_id INTO v_entry_id;
    IF v_entry_id IS NULL THEN
        RETURN QUERY SELECT * FROM ledger._replay(p_tenant, p_key, v_fingerprint);
        RETURN;
    END IF;

    PERFORM ledger._apply_legs(p_tenant, v_entry_id, p_codes, p_amounts, p_pending, p_one_currency);
    -- The OUT columns and RETURN NEXT: no query for the result row.
    entry_id := v_entry_id;
    status := v_status;
    replayed := false;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION ledger._post(text, text, text[], bigint[], jsonb, boolean, timestamptz, boolean, boolean) IS
    'Private: validate, claim the idempotency key and post (or hold) the legs of a new entry; workflows call it with p_user = false.';
