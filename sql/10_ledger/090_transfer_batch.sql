-- Many transfers in one call (docs/batch.md). Each item is a transfer of its own, idempotent
-- by its key as ledger.transfer, with that function's checks and check order; items take
-- effect in idx order, so an item sees the balances the items before it left.
--
-- The lock order is the kernel's: every key is claimed first (one INSERT, in key order, so two
-- batches sharing keys queue instead of deadlocking, and a single transfer holding one of the
-- keys finishes first: it waits on no lock a batch holds before its accounts), then every
-- account the claimed items touch is locked in account_id order (ledger._apply_legs' two
-- passes), then the items are checked in idx order against balances kept in arrays, and the
-- postings of all items that passed go in with one INSERT (one run of the posting trigger).
-- Non-atomic: a failed item discards the entry row it claimed (ledger._guard_history lets
-- that DELETE through while pgbalance.discarding is on; an entry with postings cannot be
-- deleted, the posting foreign key refuses), so it leaves nothing and its key stays free:
-- no subtransaction per item. Atomic: the first failing item (in idx order) raises its
-- SQLSTATE for the whole call, DETAIL starting with idx=<n>, and everything rolls back.
-- Entry ids are drawn in idx order (so a statement, which orders an account's postings of one
-- instant by entry_id, lists them in the order they took effect); the same key twice in one
-- batch behaves as two transfer calls in a row: the second replays the first (or PB003), or
-- tries again if the first failed.
CREATE OR REPLACE FUNCTION ledger.transfer_batch(
    p_tenant text, p_transfers jsonb, p_atomic boolean DEFAULT false)
RETURNS TABLE (idx integer, entry_id bigint, status text, replayed boolean, error_code text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- A custom plan per call (for the array sizes) costs more than it saves.
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    c_max_items CONSTANT integer := 1000;
    v_n integer;
    -- per item, 1..v_n
    v_key text[];
    v_from text[];
    v_to text[];
    v_amount bigint[];
    v_meta jsonb[];
    v_fp uuid[];
    v_first integer[];      -- first valid item with the same key
    v_err text[];           -- SQLSTATE of a failed item
    v_msg text[];
    v_detail text[];
    v_eid bigint[];         -- the item's entry (its own, or the one it replays)
    v_status text[];
    v_replayed boolean[];
    v_id bigint[];          -- entry id drawn for an item that may post
    v_map jsonb;            -- account code -> slot
    v_owner integer[];      -- per first item: the item of this batch whose entry holds the key
    v_claimed boolean[];    -- per first item: this call inserted the key's entry row
    -- per locked account (slot), in account_id order
    v_acode text[];
    v_aid bigint[];
    v_cur text[];
    v_bal bigint[];
    v_pout bigint[];
    v_pin bigint[];
    v_min bigint[];
    v_max bigint[];
    v_closed boolean[];
    v_striped boolean[];
    -- work
    v_todo integer[];       -- items to check in the loop, ascending
    v_codes text[];
    v_rows ledger.account[];
    v_pe bigint[] := '{}';  -- postings: entry, account, amount
    v_pa bigint[] := '{}';
    v_px bigint[] := '{}';
    v_ok integer[] := '{}'; -- items that post, ascending
    v_drop bigint[] := '{}';
    v_ids bigint[];
    v_fps uuid[];
    v_sts text[];
    v_i integer;
    v_f integer;
    v_o integer;
    v_a integer;
    v_b integer;
    v_x bigint;
    v_total record;
    v_now timestamptz;
    v_bad integer;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    IF p_transfers IS NULL OR jsonb_typeof(p_transfers) <> 'array' THEN
        PERFORM ledger._raise('22023', 'p_transfers must be a JSON array of transfers',
            format('transfers=%s', left(coalesce(p_transfers::text, 'NULL'), 100)),
            'Items are {"key", "from", "to", "amount", "metadata"} objects.');
    END IF;
    IF p_atomic IS NULL THEN
        PERFORM ledger._raise('22023', 'p_atomic must not be NULL');
    END IF;
    v_n := jsonb_array_length(p_transfers);
    IF v_n > c_max_items THEN
        PERFORM ledger._raise('22023', format('a batch holds at most %s transfers', c_max_items),
            format('items=%s', v_n), 'Split it into several calls.');
    END IF;
    IF v_n = 0 THEN
        RETURN;
    END IF;

    -- 1. Parse and check every item as ledger.transfer would (22023), fingerprint it as
    --    ledger._post does, and find the first valid item of each key.
    -- MATERIALIZED: inlined, each reference would evaluate the expressions again.
    WITH raw AS MATERIALIZED (
        SELECT o::integer AS i, x,
               CASE WHEN jsonb_typeof(x) = 'object' THEN x ->> 'key' END AS k,
               CASE WHEN jsonb_typeof(x) = 'object' THEN x ->> 'from' END AS f,
               CASE WHEN jsonb_typeof(x) = 'object' THEN x ->> 'to' END AS t,
               CASE WHEN jsonb_typeof(x) = 'object' THEN x -> 'amount' END AS a,
               CASE WHEN jsonb_typeof(x) = 'object' THEN x -> 'metadata' END AS m
          FROM jsonb_array_elements(p_transfers) WITH ORDINALITY AS e(x, o)
    ), checked AS MATERIALIZED (
        SELECT r.*,
               CASE
                 WHEN jsonb_typeof(r.x) IS DISTINCT FROM 'object' THEN
                      'an item must be a JSON object|item=' || left(r.x::text, 100)
                 WHEN jsonb_typeof(r.a) IS DISTINCT FROM 'number' OR (r.a #>> '{}') !~ '^-?[0-9]+$'
                      OR (r.a #>> '{}')::numeric NOT BETWEEN -9223372036854775808 AND 9223372036854775807 THEN
                      'amount must be an integer (minor units)|amount=' || coalesce(left(r.a::text, 40), 'NULL')
                 WHEN (r.a #>> '{}')::numeric <= 0 THEN
                      'amount must be greater than 0|amount=' || (r.a #>> '{}')
                 WHEN jsonb_typeof(x -> 'key') IS DISTINCT FROM 'string' OR r.k = '' THEN
                      'key must be a non-empty string|key=' || coalesce(left((x -> 'key')::text, 100), 'NULL')
                 WHEN length(r.k) > 200 THEN 'key is longer than 200 characters|length=' || length(r.k)
                 WHEN starts_with(r.k, 'pgb:') THEN 'key may not start with the reserved prefix pgb:|key=' || r.k
                 WHEN jsonb_typeof(x -> 'from') IS DISTINCT FROM 'string' OR r.f = '' THEN
                      'from must be a non-empty account code|from=' || coalesce(left((x -> 'from')::text, 100), 'NULL')
                 WHEN length(r.f) > 200 THEN 'from is longer than 200 characters|length=' || length(r.f)
                 WHEN starts_with(r.f, 'pgb:') THEN 'from may not start with the reserved prefix pgb:|from=' || r.f
                 WHEN jsonb_typeof(x -> 'to') IS DISTINCT FROM 'string' OR r.t = '' THEN
                      'to must be a non-empty account code|to=' || coalesce(left((x -> 'to')::text, 100), 'NULL')
                 WHEN length(r.t) > 200 THEN 'to is longer than 200 characters|length=' || length(r.t)
                 WHEN starts_with(r.t, 'pgb:') THEN 'to may not start with the reserved prefix pgb:|to=' || r.t
                 WHEN r.f = r.t THEN 'the same account appears twice in one movement|accounts=' || r.f || ',' || r.t
                 WHEN r.m IS NOT NULL AND jsonb_typeof(r.m) NOT IN ('object', 'null') THEN
                      'metadata must be a JSON object|metadata=' || left(r.m::text, 100)
                 WHEN octet_length(r.m::text) > 16384 THEN  -- as ledger._check_json
                      'metadata is larger than 16 KiB|bytes=' || octet_length(r.m::text) || ' limit=16384'
               END AS problem
          FROM raw AS r
    ), valid AS MATERIALIZED (
        SELECT c.*, CASE WHEN c.problem IS NULL THEN (c.a #>> '{}')::bigint END AS amount,
               CASE WHEN c.problem IS NULL
                    THEN min(c.i) FILTER (WHERE c.problem IS NULL) OVER (PARTITION BY c.k) END AS first
          FROM checked AS c
    )
    SELECT array_agg(v.k ORDER BY v.i), array_agg(v.f ORDER BY v.i), array_agg(v.t ORDER BY v.i),
           array_agg(CASE WHEN v.problem IS NULL THEN v.amount END ORDER BY v.i),
           array_agg(CASE WHEN v.problem IS NULL THEN coalesce(nullif(v.m, 'null'::jsonb), '{}') END
                     ORDER BY v.i),
           -- The same text ledger._post hashes for a transfer (legs sorted by code).
           array_agg(CASE WHEN v.problem IS NULL THEN md5(jsonb_build_array(
                    CASE WHEN v.f < v.t
                         THEN jsonb_build_array(jsonb_build_array(v.f, -v.amount), jsonb_build_array(v.t, v.amount))
                         ELSE jsonb_build_array(jsonb_build_array(v.t, v.amount), jsonb_build_array(v.f, -v.amount)) END,
                    false, NULL)::text)::uuid END ORDER BY v.i),
           array_agg(v.first ORDER BY v.i),
           array_agg(CASE WHEN v.problem IS NOT NULL THEN '22023' END ORDER BY v.i),
           array_agg(split_part(v.problem, '|', 1) ORDER BY v.i),
           array_agg(substr(v.problem, strpos(v.problem, '|') + 1) ORDER BY v.i)
      INTO v_key, v_from, v_to, v_amount, v_meta, v_fp, v_first, v_err, v_msg, v_detail
      FROM valid AS v;
    v_eid := array_fill(NULL::bigint, ARRAY[v_n]);
    v_status := array_fill(NULL::text, ARRAY[v_n]);
    v_replayed := array_fill(NULL::boolean, ARRAY[v_n]);
    v_id := array_fill(NULL::bigint, ARRAY[v_n]);
    v_owner := array_fill(NULL::integer, ARRAY[v_n]);
    v_claimed := array_fill(false, ARRAY[v_n]);

    -- 2. Claim the keys of the first valid items, in key order, with entry ids drawn in idx
    --    order for every valid item (a later item with the same key may need its own).
    SELECT array_agg(g.i ORDER BY g.i) INTO v_todo
      FROM generate_subscripts(v_first, 1) AS g(i) WHERE v_first[g.i] IS NOT NULL;
    IF v_todo IS NOT NULL THEN
        SELECT array_agg(nextval('ledger.entry_entry_id_seq'::regclass)) INTO v_ids
          FROM generate_series(1, cardinality(v_todo));
        FOR v_i IN 1 .. cardinality(v_todo) LOOP
            v_id[v_todo[v_i]] := v_ids[v_i];
        END LOOP;
        WITH ins AS (
            INSERT INTO ledger.entry AS e (tenant_id, entry_id, idempotency_key, fingerprint,
                                           status, amount, metadata)
            OVERRIDING SYSTEM VALUE
            SELECT p_tenant, v_id[u.i], v_key[u.i], v_fp[u.i], 'posted', v_amount[u.i], v_meta[u.i]
              FROM unnest(v_todo) AS u(i)
             WHERE v_first[u.i] = u.i
             ORDER BY v_key[u.i] COLLATE "C"
                ON CONFLICT (tenant_id, (md5(idempotency_key)::uuid)) DO NOTHING
            RETURNING e.entry_id
        )
        -- Claimed: the first item's row went in (its id came back).
        SELECT array_agg(r.id IS NOT NULL ORDER BY g.i),
               count(*) FILTER (WHERE v_first[g.i] = g.i AND r.id IS NULL)
          INTO v_claimed, v_bad
          FROM generate_series(1, v_n) AS g(i)
          LEFT JOIN (SELECT ins.entry_id AS id FROM ins) AS r ON r.id = v_id[g.i];
        -- Keys already taken: a separate statement, so it sees what a concurrent caller
        -- committed. Every valid item with such a key replays that entry or conflicts with it.
        IF v_bad > 0 THEN
            SELECT array_agg(e.entry_id ORDER BY g.i), array_agg(e.fingerprint ORDER BY g.i),
                   array_agg(e.status ORDER BY g.i)
              INTO v_ids, v_fps, v_sts
              FROM generate_series(1, v_n) AS g(i)
              LEFT JOIN (SELECT x.idempotency_key, x.entry_id, x.fingerprint, x.status
                           FROM ledger.entry AS x
                          WHERE x.tenant_id = p_tenant
                            AND md5(x.idempotency_key)::uuid = ANY (ARRAY(
                                SELECT md5(v_key[u.i])::uuid FROM unnest(v_todo) AS u(i)
                                 WHERE NOT v_claimed[v_first[u.i]]))) AS e
                ON e.idempotency_key = v_key[g.i]
               AND v_first[g.i] IS NOT NULL AND NOT v_claimed[v_first[g.i]];
            FOREACH v_f IN ARRAY v_todo LOOP
                CONTINUE WHEN v_ids[v_f] IS NULL;
                IF v_fp[v_f] = v_fps[v_f] THEN
                    v_eid[v_f] := v_ids[v_f];
                    v_status[v_f] := v_sts[v_f];
                    v_replayed[v_f] := true;
                ELSE
                    v_err[v_f] := 'PB003';
                    v_msg[v_f] := 'idempotency key reused with different parameters';
                    v_detail[v_f] := format('key=%s entry_id=%s', v_key[v_f], v_ids[v_f]);
                END IF;
            END LOOP;
        END IF;
        -- What is left to check: items of claimed keys.
        SELECT array_agg(u.i ORDER BY u.i) INTO v_todo
          FROM unnest(v_todo) AS u(i) WHERE v_claimed[v_first[u.i]];
    END IF;

    IF v_todo IS NOT NULL THEN
        -- 3. Lock their accounts in the kernel's order: not striped FOR NO KEY UPDATE by
        --    account_id, then all FOR KEY SHARE by account_id (new only for striped ones).
        v_codes := ARRAY(SELECT v_from[u.i] FROM unnest(v_todo) AS u(i)
                         UNION SELECT v_to[u.i] FROM unnest(v_todo) AS u(i));
        SELECT array_agg(l.a) INTO v_rows
          FROM (SELECT a FROM ledger.account AS a
                 WHERE a.tenant_id = p_tenant AND a.code = ANY (v_codes) AND a.stripes = 0
                 ORDER BY a.account_id
                   FOR NO KEY UPDATE) AS l;
        -- Striped or unknown accounts: a second pass, a new statement (see ledger._apply_legs).
        IF coalesce(cardinality(v_rows), 0) < cardinality(v_codes) THEN
            v_rows := coalesce(v_rows, '{}') || ARRAY(
                SELECT l.a
                  FROM (SELECT a FROM ledger.account AS a
                         WHERE a.tenant_id = p_tenant AND a.code = ANY (v_codes) AND a.stripes > 0
                         ORDER BY a.account_id
                           FOR KEY SHARE) AS l);
        END IF;
        -- Slot of each account: its position in these arrays (v_map: code -> slot).
        SELECT jsonb_object_agg(x.code, x.ordinality),
               array_agg(x.code ORDER BY x.ordinality), array_agg(x.account_id ORDER BY x.ordinality),
               array_agg(x.currency ORDER BY x.ordinality), array_agg(x.balance ORDER BY x.ordinality),
               array_agg(x.pending_out ORDER BY x.ordinality),
               array_agg(x.pending_in ORDER BY x.ordinality),
               array_agg(x.min_balance ORDER BY x.ordinality),
               array_agg(x.max_balance ORDER BY x.ordinality),
               array_agg(x.closed_at IS NOT NULL ORDER BY x.ordinality),
               array_agg(x.stripes > 0 ORDER BY x.ordinality)
          INTO v_map, v_acode, v_aid, v_cur, v_bal, v_pout, v_pin, v_min, v_max, v_closed, v_striped
          FROM unnest(v_rows) WITH ORDINALITY AS x;

        -- An account without limits has its total in its row plus its stripes; only a huge
        -- credit needs that total (an overflow is a limit error, as in ledger._apply_legs).
        FOR v_b IN SELECT DISTINCT (v_map ->> v_to[u.i])::integer FROM unnest(v_todo) AS u(i)
                    WHERE v_amount[u.i] >= 4503599627370496 LOOP
            CONTINUE WHEN v_b IS NULL OR v_min[v_b] IS NOT NULL OR v_max[v_b] IS NOT NULL;
            SELECT o.balance, o.pending_in INTO v_total FROM ledger._account_out(p_tenant, v_acode[v_b]) AS o;
            v_bal[v_b] := v_total.balance;
            v_pin[v_b] := v_total.pending_in;
        END LOOP;

        -- 4. Check the items in idx order, as ledger._apply_legs would one call after another.
        FOREACH v_i IN ARRAY v_todo LOOP
            v_f := v_first[v_i];
            IF v_f <> v_i THEN
                v_o := v_owner[v_f];
                IF v_o IS NOT NULL THEN     -- an earlier item of this batch holds the key
                    IF v_fp[v_i] = v_fp[v_o] THEN
                        v_eid[v_i] := v_id[v_o];
                        v_status[v_i] := 'posted';
                        v_replayed[v_i] := true;
                    ELSE
                        v_err[v_i] := 'PB003';
                        v_msg[v_i] := 'idempotency key reused with different parameters';
                        v_detail[v_i] := format('key=%s entry_id=%s', v_key[v_i], v_id[v_o]);
                    END IF;
                    CONTINUE;
                END IF;
                -- every earlier item with this key failed: this one tries again
            END IF;
            v_a := (v_map ->> v_from[v_i])::integer;
            v_b := (v_map ->> v_to[v_i])::integer;
            v_x := v_amount[v_i];
            IF v_a IS NULL OR v_b IS NULL THEN
                v_err[v_i] := 'PB005';
                v_msg[v_i] := 'account not found';
                v_detail[v_i] := format('account=%s', CASE WHEN v_a IS NULL THEN v_from[v_i] ELSE v_to[v_i] END);
            ELSIF v_cur[v_a] <> v_cur[v_b] THEN
                v_err[v_i] := 'PB006';
                v_msg[v_i] := 'accounts of different currencies in one movement';
                v_detail[v_i] := format('accounts=%s,%s', v_from[v_i], v_to[v_i]);
            ELSIF v_closed[v_a] OR v_closed[v_b] THEN
                v_err[v_i] := 'PB007';
                v_msg[v_i] := 'account is closed';
                v_detail[v_i] := format('account=%s', CASE WHEN v_closed[v_a] THEN v_from[v_i] ELSE v_to[v_i] END);
            ELSIF NOT v_striped[v_a]
                  AND v_bal[v_a]::numeric - v_pout[v_a] - v_x < v_min[v_a] THEN
                v_err[v_i] := 'PB001';
                v_msg[v_i] := format('insufficient funds in account %s', v_from[v_i]);
                v_detail[v_i] := format('account=%s available=%s requested=%s pending=%s min_balance=%s',
                    v_from[v_i], v_bal[v_a] - v_pout[v_a], v_x, v_pout[v_a], v_min[v_a]);
            ELSIF (NOT v_striped[v_b] OR v_x >= 4503599627370496)
                  AND v_bal[v_b]::numeric + v_pin[v_b] + v_x > coalesce(v_max[v_b], 9223372036854775807) THEN
                v_err[v_i] := 'PB002';
                v_msg[v_i] := format('account %s would exceed its maximum balance', v_to[v_i]);
                v_detail[v_i] := format('account=%s balance=%s pending_in=%s requested=%s max_balance=%s',
                    v_to[v_i], v_bal[v_b], v_pin[v_b], v_x,
                    coalesce(v_max[v_b]::text, '9223372036854775807'));
            ELSE
                v_bal[v_a] := v_bal[v_a] - v_x;
                v_bal[v_b] := v_bal[v_b] + v_x;
                v_owner[v_f] := v_i;
                v_eid[v_i] := v_id[v_i];
                v_status[v_i] := 'posted';
                v_replayed[v_i] := false;
                v_ok := v_ok || v_i;
                v_pe := v_pe || v_id[v_i] || v_id[v_i];
                v_pa := v_pa || v_aid[v_a] || v_aid[v_b];
                v_px := v_px || -v_x || v_x;
            END IF;
        END LOOP;
    END IF;

    IF p_atomic THEN
        SELECT min(g.i) INTO v_bad FROM generate_subscripts(v_err, 1) AS g(i) WHERE v_err[g.i] IS NOT NULL;
        IF v_bad IS NOT NULL THEN
            PERFORM ledger._raise(v_err[v_bad], format('transfer_batch item %s: %s', v_bad, v_msg[v_bad]),
                format('idx=%s %s', v_bad, v_detail[v_bad]),
                'Atomic batch: nothing was applied. Fix or drop that item and send the batch again.');
        END IF;
    END IF;

    IF v_todo IS NOT NULL THEN
        -- 5. Keys whose claimed row does not hold the key's posting item: discard that row
        --    (no postings, so the DELETE is let through), then put in the row of a later item
        --    with the same key that passed after the first one failed.
        FOREACH v_i IN ARRAY v_todo LOOP
            IF v_first[v_i] = v_i AND v_owner[v_i] IS DISTINCT FROM v_i THEN
                v_drop := v_drop || v_id[v_i];
            END IF;
        END LOOP;
        IF cardinality(v_drop) > 0 THEN
            PERFORM set_config('pgbalance.discarding', 'on', true);
            DELETE FROM ledger.entry AS e WHERE e.tenant_id = p_tenant AND e.entry_id = ANY (v_drop);
            PERFORM set_config('pgbalance.discarding', '', true);
            INSERT INTO ledger.entry AS e (tenant_id, entry_id, idempotency_key, fingerprint,
                                           status, amount, metadata)
            OVERRIDING SYSTEM VALUE
            SELECT p_tenant, v_id[u.i], v_key[u.i], v_fp[u.i], 'posted', v_amount[u.i], v_meta[u.i]
              FROM unnest(v_ok) AS u(i)
             WHERE v_first[u.i] <> u.i AND v_owner[v_first[u.i]] = u.i;
        END IF;

        -- 6. The postings of every item that passed, one statement: the trigger applies them.
        IF cardinality(v_ok) > 0 THEN
            v_now := clock_timestamp();
            INSERT INTO ledger.posting (tenant_id, entry_id, posting_no, account_id, kind, amount,
                                        posted_at)
            SELECT p_tenant, u.e, 2 - (u.o % 2)::smallint, u.a, 'B', u.x, v_now
              FROM unnest(v_pe, v_pa, v_px) WITH ORDINALITY AS u(e, a, x, o);
        END IF;
    END IF;

    RETURN QUERY
    SELECT g.i, v_eid[g.i], v_status[g.i], v_replayed[g.i], v_err[g.i]
      FROM generate_series(1, v_n) AS g(i);
END
$$;
COMMENT ON FUNCTION ledger.transfer_batch(text, jsonb, boolean) IS
    'Many transfers in one call: p_transfers = [{"key", "from", "to", "amount", "metadata"}, ...] (at most 10000), applied in order, each idempotent by its key as ledger.transfer. One row per item (idx from 1). Non-atomic (default): each item succeeds or fails on its own (error_code = its SQLSTATE, entry_id NULL, nothing left). Atomic: all or none; the first failing item''s SQLSTATE is raised with idx=<n> in DETAIL. p_transfers not an array -> 22023.';
