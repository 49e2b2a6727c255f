-- The one movement engine: ledger.transfer (directly), ledger.hold and ledger.post_entry
-- (through ledger._post) are its one-item case, ledger.transfer_batch its many-item case.
--   1. validate every item (22023, per item), fingerprint it;
--   2. claim the keys of the first item of each key: one INSERT of the entry rows, in key
--      order (two calls sharing keys queue instead of deadlocking); entry ids are drawn in
--      item order first, so an account's statement lists one instant's postings in the order
--      they took effect;
--   3. keys already taken: one separate statement (a new snapshot under READ COMMITTED sees
--      the winner's commit) decides replay (same fingerprint) or PB003;
--   4. ledger._apply_legs: lock the accounts, check the items in order, post;
--   5. p_on_error: 'raise' raises the (only) item's error as it is; 'raise_indexed' raises the
--      first failing item's error for the whole call, with idx=<n> in DETAIL; 'report' returns
--      each item's SQLSTATE and discards the entry rows that failed items claimed (a DELETE the
--      entry guard lets through while pgbalance.discarding is on, for entries without
--      postings), so a failed item leaves nothing behind, its key included: no subtransaction.
-- Legs arrive grouped by item in item order (p_leg_items). p_problems: items the caller
-- already found malformed ('message|detail', 22023). p_user: names come from outside
-- pgbalance and may not use the pgb: prefix.
CREATE OR REPLACE FUNCTION ledger._move(
    p_tenant text, p_keys text[], p_metadata jsonb[], p_problems text[],
    p_leg_items integer[], p_leg_codes text[], p_leg_amounts bigint[],
    p_pending boolean, p_expires_at timestamptz, p_one_currency boolean, p_user boolean,
    p_on_error text,
    OUT entry_ids bigint[], OUT statuses text[], OUT replayed boolean[], OUT error_codes text[])
LANGUAGE plpgsql
AS $$
DECLARE
    c_max CONSTANT numeric := 9223372036854775807;
    -- Free-form JSON bound, as ledger._check_json: checked here, once for every movement.
    c_metadata_bytes CONSTANT integer := 16384;
    v_n integer := coalesce(cardinality(p_keys), 0);
    v_m integer := coalesce(cardinality(p_leg_codes), 0);
    v_status text := CASE WHEN p_pending THEN 'pending' ELSE 'posted' END;
    v_problem text[];
    v_start integer[];
    v_end integer[];
    v_msg text[];
    v_detail text[];
    v_hint text[];
    v_fp uuid[];
    v_amount bigint[];
    v_meta jsonb[];
    v_first integer[];
    v_ids bigint[];
    v_apply bigint[];
    v_claimed bigint[];
    v_lost text[];
    v_found_keys text[];
    v_found_ids bigint[];
    v_found_fps uuid[];
    v_found_sts text[];
    v_applied record;
    v_owners integer[];
    v_drop bigint[];
    v_sum numeric;
    v_positive numeric;
    v_legs integer;
    v_ok boolean;
    v_f integer;
    v_k integer;
    v_bad integer;
BEGIN
    -- PL/pgSQL sets up every expression it meets once per transaction, and a movement is
    -- usually its transaction's only call: the path of a well-formed item meets few and small
    -- ones (the problem texts are built only for an item that has one).
    IF NOT coalesce(ledger._name_ok(p_tenant, false), false) THEN
        v_problem := ledger._name_problem('tenant', p_tenant, false);
        PERFORM ledger._raise('22023', v_problem[1], v_problem[2], v_problem[3]);
    END IF;
    IF v_n = 0 THEN
        RETURN;
    END IF;
    -- Item i's legs are v_start[i] .. v_end[i]. Per-item arrays start NULL and get their
    -- elements assigned by absolute subscript (an array with gaps reads NULL there).
    IF v_n = 1 THEN
        v_start := ARRAY[CASE WHEN v_m > 0 THEN 1 END];
        v_end := ARRAY[CASE WHEN v_m > 0 THEN v_m END];
    ELSE
        FOR j IN 1 .. v_m LOOP
            v_f := p_leg_items[j];
            IF v_start[v_f] IS NULL THEN
                v_start[v_f] := j;
            END IF;
            v_end[v_f] := j;
        END LOOP;
    END IF;

    -- 1. Malformed input (22023). A well-formed item passes a few small expressions (plpgsql
    -- prepares each expression it meets once per transaction); a malformed one is then told
    -- apart in the order of ledger.transfer's checks.
    FOR i IN 1 .. v_n LOOP
        v_legs := coalesce(v_end[i] - v_start[i] + 1, 0);
        v_sum := 0;
        v_positive := 0;
        v_problem := NULL;
        v_ok := p_problems[i] IS NULL AND ledger._name_ok(p_keys[i], p_user) AND v_legs BETWEEN 2 AND 1000;
        IF v_ok THEN
            FOR j IN v_start[i] .. v_end[i] LOOP
                v_ok := ledger._name_ok(p_leg_codes[j], p_user) AND p_leg_amounts[j] <> 0;
                EXIT WHEN v_ok IS NOT TRUE;
                v_sum := v_sum + p_leg_amounts[j];
                v_positive := v_positive + greatest(p_leg_amounts[j], 0);
            END LOOP;
            -- Two legs compare directly: an expression with a subquery is run by the executor.
            IF v_legs = 2 THEN
                v_ok := v_ok AND p_leg_codes[v_start[i]] <> p_leg_codes[v_end[i]];
            ELSIF v_ok THEN
                v_ok := (SELECT count(DISTINCT c) FROM unnest(p_leg_codes[v_start[i]:v_end[i]]) AS c) = v_legs;
            END IF;
            v_ok := v_ok AND v_sum = 0 AND v_positive <= c_max
                    AND coalesce(jsonb_typeof(p_metadata[i]) = 'object', true)
                    AND coalesce(octet_length(p_metadata[i]::text) <= c_metadata_bytes, true);
        END IF;
        IF v_ok IS NOT TRUE THEN
            v_sum := 0;
            v_positive := 0;
            v_problem := coalesce(
                CASE WHEN p_problems[i] IS NOT NULL
                     THEN ARRAY[split_part(p_problems[i], '|', 1),
                                substr(p_problems[i], strpos(p_problems[i], '|') + 1), NULL] END,
                ledger._name_problem('key', p_keys[i], p_user),
                CASE WHEN v_legs < 2
                     THEN ARRAY['a movement needs at least two legs', format('legs=%s', v_legs), NULL]
                     -- A hold's postings, their release and the capture number 3 x legs (smallint).
                     WHEN v_legs > 1000
                     THEN ARRAY['a movement has at most 1000 legs', format('legs=%s', v_legs), NULL] END);
            IF v_problem IS NULL THEN
                FOR j IN v_start[i] .. v_end[i] LOOP
                    v_problem := coalesce(ledger._name_problem('account', p_leg_codes[j], p_user),
                        CASE WHEN p_leg_amounts[j] IS NULL OR p_leg_amounts[j] = 0
                             THEN ARRAY['every leg needs a non-zero amount',
                                        format('account=%s amount=%s', p_leg_codes[j],
                                               coalesce(p_leg_amounts[j]::text, 'NULL')), NULL] END);
                    EXIT WHEN v_problem IS NOT NULL;
                    v_sum := v_sum + p_leg_amounts[j];
                    v_positive := v_positive + greatest(p_leg_amounts[j], 0);
                END LOOP;
            END IF;
            v_problem := coalesce(v_problem, CASE
                WHEN (SELECT count(DISTINCT c) FROM unnest(p_leg_codes[v_start[i]:v_end[i]]) AS c) <> v_legs
                THEN ARRAY['the same account appears twice in one movement',
                           format('accounts=%s', array_to_string(p_leg_codes[v_start[i]:v_end[i]], ',')), NULL]
                WHEN v_sum <> 0 THEN ARRAY['legs must sum to 0', format('sum=%s', v_sum), NULL]
                WHEN v_positive > c_max
                THEN ARRAY['the movement is larger than a bigint can hold', format('amount=%s', v_positive), NULL]
                WHEN jsonb_typeof(p_metadata[i]) <> 'object'
                THEN ARRAY['metadata must be a JSON object', format('metadata=%s', left(p_metadata[i]::text, 100)), NULL]
                WHEN octet_length(p_metadata[i]::text) > c_metadata_bytes
                THEN ARRAY['metadata is larger than 16 KiB',
                           format('bytes=%s limit=%s', octet_length(p_metadata[i]::text), c_metadata_bytes),
                           'Keep free-form JSON small; store large documents elsewhere and reference them.']
            END);
        END IF;
        -- Legs that do not sum to 0 per currency are malformed input too, decided before the
        -- key is claimed (check order). Currencies never change, so reading them unlocked is
        -- safe; with an unknown account the call goes on to PB005. Single-currency movements
        -- (transfer, hold) skip this: mixed currencies are PB006 for them (ledger._apply_legs).
        IF v_problem IS NULL AND NOT p_one_currency THEN
            WITH l AS (
                SELECT a.currency, u.amount
                  FROM unnest(p_leg_codes[v_start[i]:v_end[i]], p_leg_amounts[v_start[i]:v_end[i]]) AS u(code, amount)
                  LEFT JOIN ledger.account AS a ON a.tenant_id = p_tenant AND a.code = u.code)
            SELECT ARRAY['legs must sum to 0 in each currency', format('currency=%s sum=%s', c.currency, c.total), NULL]
              INTO v_problem
              FROM (SELECT l.currency, sum(l.amount) AS total FROM l GROUP BY l.currency) AS c
             WHERE c.total <> 0 AND NOT EXISTS (SELECT FROM l WHERE l.currency IS NULL)
             ORDER BY c.currency
             LIMIT 1;
        END IF;
        IF v_problem IS NOT NULL THEN
            error_codes[i] := '22023';
            v_msg[i] := v_problem[1];
            v_detail[i] := v_problem[2];
            v_hint[i] := v_problem[3];
            CONTINUE;
        END IF;
        v_amount[i] := v_positive;
        v_meta[i] := coalesce(p_metadata[i], '{}');
        -- Two statements, not one CASE: an expression is set up whole, the branch it does not
        -- take included (-22k a transfer).
        IF v_legs = 2 THEN
            v_fp[i] := ledger._fingerprint_pair(p_leg_codes[v_start[i]], p_leg_amounts[v_start[i]],
                p_leg_codes[v_end[i]], p_leg_amounts[v_end[i]], p_pending, p_expires_at);
        ELSE
            v_fp[i] := ledger._fingerprint(p_leg_codes[v_start[i]:v_end[i]],
                p_leg_amounts[v_start[i]:v_end[i]], p_pending, p_expires_at);
        END IF;
    END LOOP;

    -- The first valid item of each key, and entry ids for every valid item in item order.
    IF v_n = 1 THEN
        v_first := ARRAY[CASE WHEN error_codes[1] IS NULL THEN 1 END];
        IF v_first[1] IS NOT NULL THEN
            v_ids := ARRAY[nextval('ledger.entry_entry_id_seq'::regclass)];
        END IF;
    ELSE
        SELECT array_agg(w.first ORDER BY w.i) INTO v_first
          FROM (SELECT g.i, CASE WHEN error_codes[g.i] IS NULL
                                 THEN min(g.i) FILTER (WHERE error_codes[g.i] IS NULL)
                                          OVER (PARTITION BY p_keys[g.i]) END AS first
                  FROM generate_subscripts(p_keys, 1) AS g(i)) AS w;
        v_ids := array_fill(NULL::bigint, ARRAY[v_n]);
        FOR i IN 1 .. v_n LOOP
            IF v_first[i] IS NOT NULL THEN
                v_ids[i] := nextval('ledger.entry_entry_id_seq'::regclass);
            END IF;
        END LOOP;
    END IF;

    -- 2. Claim (one item: a plain VALUES insert, no set to sort and aggregate).
    IF v_n = 1 AND v_ids IS NOT NULL THEN
        INSERT INTO ledger.entry AS e (tenant_id, entry_id, idempotency_key, fingerprint, status,
                                       amount, expires_at, metadata)
        OVERRIDING SYSTEM VALUE
        VALUES (p_tenant, v_ids[1], p_keys[1], v_fp[1], v_status, v_amount[1], p_expires_at, v_meta[1])
            ON CONFLICT (tenant_id, (md5(idempotency_key)::uuid)) DO NOTHING
        RETURNING ARRAY[e.entry_id] INTO v_claimed;
    ELSIF v_ids IS NOT NULL THEN
        WITH ins AS (
            INSERT INTO ledger.entry AS e (tenant_id, entry_id, idempotency_key, fingerprint, status,
                                           amount, expires_at, metadata)
            OVERRIDING SYSTEM VALUE
            SELECT p_tenant, v_ids[g.i], p_keys[g.i], v_fp[g.i], v_status, v_amount[g.i],
                   p_expires_at, v_meta[g.i]
              FROM generate_subscripts(v_ids, 1) AS g(i)
             WHERE v_first[g.i] = g.i
             ORDER BY p_keys[g.i] COLLATE "C"
                ON CONFLICT (tenant_id, (md5(idempotency_key)::uuid)) DO NOTHING
            RETURNING e.entry_id)
        SELECT array_agg(ins.entry_id) INTO v_claimed FROM ins;
    END IF;

    IF v_ids IS NOT NULL THEN
        -- 3. Keys already taken.
        IF v_n = 1 THEN
            v_apply := v_claimed;  -- NULL: the key is taken
            v_lost := CASE WHEN v_claimed IS NULL THEN p_keys END;
        ELSE
            v_apply := array_fill(NULL::bigint, ARRAY[v_n]);
            v_lost := '{}';
            FOR i IN 1 .. v_n LOOP
                CONTINUE WHEN v_first[i] IS NULL;
                IF v_ids[v_first[i]] = ANY (v_claimed) THEN
                    v_apply[i] := v_ids[i];
                ELSIF v_first[i] = i THEN
                    v_lost := v_lost || p_keys[i];
                END IF;
            END LOOP;
        END IF;
        IF cardinality(v_lost) > 0 THEN
            SELECT array_agg(e.idempotency_key), array_agg(e.entry_id), array_agg(e.fingerprint),
                   array_agg(e.status)
              INTO v_found_keys, v_found_ids, v_found_fps, v_found_sts
              FROM ledger.entry AS e
             WHERE e.tenant_id = p_tenant
               AND md5(e.idempotency_key)::uuid = ANY (ARRAY(SELECT md5(k)::uuid FROM unnest(v_lost) AS k))
               AND e.idempotency_key = ANY (v_lost);
            FOR i IN 1 .. v_n LOOP
                CONTINUE WHEN v_first[i] IS NULL OR v_apply[i] IS NOT NULL;
                v_k := array_position(v_found_keys, p_keys[i]);
                IF v_fp[i] = v_found_fps[v_k] THEN
                    entry_ids[i] := v_found_ids[v_k];
                    statuses[i] := v_found_sts[v_k];
                    replayed[i] := true;
                ELSE
                    error_codes[i] := 'PB003';
                    v_msg[i] := 'idempotency key reused with different parameters';
                    v_detail[i] := format('key=%s entry_id=%s', p_keys[i], v_found_ids[v_k]);
                    v_hint[i] := 'Use a new key for a new movement; retry with exactly the same parameters.';
                END IF;
            END LOOP;
        END IF;

        -- 4. Lock, check, post.
        IF v_n > 1 OR v_apply[1] IS NOT NULL THEN
            v_applied := ledger._apply_legs(p_tenant, p_keys, v_apply, v_first, v_fp,
                p_leg_items, p_leg_codes, p_leg_amounts, p_pending => p_pending,
                p_one_currency => p_one_currency, p_atomic => p_on_error <> 'report');
            v_owners := v_applied.owners;
            FOR i IN 1 .. v_n LOOP
                CONTINUE WHEN v_apply[i] IS NULL;
                IF v_applied.error_codes[i] IS NOT NULL THEN
                    error_codes[i] := v_applied.error_codes[i];
                    v_msg[i] := v_applied.messages[i];
                    v_detail[i] := v_applied.details[i];
                    v_hint[i] := v_applied.hints[i];
                ELSIF v_owners[i] IS NOT NULL THEN
                    entry_ids[i] := v_apply[v_owners[i]];
                    statuses[i] := v_status;
                    replayed[i] := v_owners[i] <> i;
                END IF;
            END LOOP;
        END IF;
    END IF;

    -- 5. Errors.
    IF p_on_error <> 'report' THEN
        -- error_codes stays NULL until an item fails.
        IF error_codes IS NOT NULL THEN
            FOR i IN 1 .. v_n LOOP
                IF error_codes[i] IS NOT NULL THEN
                    v_bad := i;
                    EXIT;
                END IF;
            END LOOP;
        END IF;
        IF v_bad IS NOT NULL THEN
            IF p_on_error = 'raise' THEN
                PERFORM ledger._raise(error_codes[v_bad], v_msg[v_bad], v_detail[v_bad], v_hint[v_bad]);
            END IF;
            PERFORM ledger._raise(error_codes[v_bad], format('transfer_batch item %s: %s', v_bad, v_msg[v_bad]),
                format('idx=%s %s', v_bad, v_detail[v_bad]),
                'Atomic batch: nothing was applied. Fix or drop that item and send the batch again.');
        END IF;
        RETURN;
    END IF;
    -- Claimed rows that hold no posted item's entry are discarded; a later item with the same
    -- key that posted after the first one failed gets its own row.
    FOR i IN 1 .. v_n LOOP
        IF v_first[i] = i AND v_apply[i] IS NOT NULL AND v_owners[i] IS NULL THEN
            v_drop := v_drop || v_ids[i];
        END IF;
    END LOOP;
    IF cardinality(v_drop) > 0 THEN
        -- SET LOCAL, not set_config(): on Citus a call that is not delegated (inside a
        -- transaction block, during a shard move) runs here on the coordinator and its DELETE
        -- on the tenant's worker, which a SET LOCAL reaches when citus.propagate_set_commands
        -- is 'local' (on plain PostgreSQL that is a placeholder setting, and nothing to reach).
        SET LOCAL citus.propagate_set_commands = 'local';
        SET LOCAL pgbalance.discarding = 'on';
        DELETE FROM ledger.entry AS e WHERE e.tenant_id = p_tenant AND e.entry_id = ANY (v_drop);
        SET LOCAL pgbalance.discarding = '';
        INSERT INTO ledger.entry AS e (tenant_id, entry_id, idempotency_key, fingerprint, status,
                                       amount, expires_at, metadata)
        OVERRIDING SYSTEM VALUE
        SELECT p_tenant, v_ids[g.i], p_keys[g.i], v_fp[g.i], v_status, v_amount[g.i], p_expires_at,
               v_meta[g.i]
          FROM generate_subscripts(v_ids, 1) AS g(i)
         WHERE v_first[g.i] <> g.i AND v_owners[g.i] = g.i;
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._move(text, text[], jsonb[], text[], integer[], text[], bigint[], boolean, timestamptz, boolean, boolean, text) IS
    'Private: the movement engine (validate, claim keys, replay, lock, check and post; per item entry id, status, replayed, SQLSTATE); ledger._post is its one-item case, ledger.transfer_batch its many-item case.';
