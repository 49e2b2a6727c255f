-- The set-based heart of every movement (ledger._move for transfer, hold, post_entry and
-- transfer_batch; ledger._reverse): lock the accounts of the items' legs, check the items in
-- item order against the balances the earlier items leave, and insert the postings of the
-- items that pass with one INSERT (one run of the posting trigger). Entry rows exist already.
--
-- Lock order, the same for every movement: its accounts that are not striped FOR NO KEY
-- UPDATE by account_id; then its striped accounts (no floor, no ceiling, stripes > 0:
-- ledger.set_account_stripes) FOR KEY SHARE by account_id; then (in the posting trigger) the
-- stripe rows by account_id. The share lock keeps ledger.close_account (FOR UPDATE) out and
-- lets concurrent movements into one hot account run side by side. Each pass reads the rows.
--
-- Check order per item (contract): PB005, PB006 (p_one_currency), PB007, then limits; each
-- error names the first offending leg in legs order. Limits: balance - pending_out >= floor,
-- balance + pending_in <= ceiling, and without a floor or a ceiling what a bigint holds, for
-- a striped account on its row plus its stripes (read under the share lock).
--
-- Items of one call that share a key (p_first: the first item with that key) behave as calls
-- in a row: a later item replays the earlier one that posted (or PB003), or tries itself when
-- every earlier one failed. owners[i] is the item whose entry item i stands for (i itself when
-- it posted, NULL when it failed). With p_atomic nothing is posted once an item fails.
CREATE OR REPLACE FUNCTION ledger._apply_legs(
    p_tenant text, p_keys text[], p_entry_ids bigint[], p_first integer[], p_fingerprints uuid[],
    p_leg_items integer[], p_leg_codes text[], p_leg_amounts bigint[],
    p_pending boolean, p_one_currency boolean, p_atomic boolean,
    OUT owners integer[], OUT error_codes text[], OUT messages text[], OUT details text[],
    OUT hints text[])
LANGUAGE plpgsql
AS $$
DECLARE
    c_min CONSTANT bigint := -9223372036854775808;
    c_max CONSTANT bigint := 9223372036854775807;
    v_n integer := cardinality(p_entry_ids);
    v_m integer := coalesce(cardinality(p_leg_codes), 0);
    v_codes text[];
    -- per locked account (slot), in lock order: codes, currencies
    v_acode text[];
    v_cur text[];
    -- and their numbers, one row per slot: [1] account_id, [2] balance, [3] pending_out,
    -- [4] pending_in, [5] floor, [6] ceiling (what a bigint holds where the account has none),
    -- [7] 1 when closed. One aggregate builds them all: each aggregate costs its set-up in
    -- every call (seven more would be 40k instructions of a transfer).
    v_num bigint[];
    -- per leg
    v_slot integer[];
    -- per first item of a key: the item that posted under that key
    v_holder integer[];
    -- per item: its legs are v_start[i] .. v_end[i]
    v_start integer[];
    v_end integer[];
    v_failed boolean := false;
    v_posted boolean := false;
    v_f integer;
    v_o integer;
    v_s integer;
    v_a bigint;
    v_missing integer;
    v_mixed boolean;
    v_closed_leg integer;
    v_limit_leg integer;
    v_now timestamptz;
    v_row record;
BEGIN
    -- Per-item arrays start NULL and get their elements assigned by subscript (gaps read NULL).
    IF v_n = 1 THEN
        v_start := '{1}';
        v_end := ARRAY[v_m];
        v_codes := p_leg_codes;
    ELSE
        FOR j IN 1 .. v_m LOOP
            v_f := p_leg_items[j];
            IF v_start[v_f] IS NULL THEN
                v_start[v_f] := j;
            END IF;
            v_end[v_f] := j;
        END LOOP;
        v_codes := ARRAY(SELECT DISTINCT p_leg_codes[g.j] FROM generate_subscripts(p_leg_codes, 1) AS g(j)
                          WHERE p_entry_ids[p_leg_items[g.j]] IS NOT NULL);
    END IF;
    SELECT array_agg(ARRAY[l.account_id, l.balance, l.pending_out, l.pending_in,
                           coalesce(l.min_balance, c_min), coalesce(l.max_balance, c_max),
                           l.closed::integer]),
           array_agg(l.code), array_agg(l.currency)
      INTO v_num, v_acode, v_cur
      FROM (SELECT a.account_id, a.code, a.currency, a.balance, a.pending_out, a.pending_in,
                   a.min_balance, a.max_balance, a.closed_at IS NOT NULL AS closed
              FROM ledger.account AS a
             WHERE a.tenant_id = p_tenant AND a.code = ANY ((SELECT v_codes)::text[]) AND a.stripes = 0
             ORDER BY a.account_id
               FOR NO KEY UPDATE) AS l;
    -- Plans: plpgsql keeps a statement's generic plan only when it costs no more than the
    -- custom ones, so no estimate here may depend on an array's values: its elements come
    -- from generate_subscripts (no row estimate from the array) and ANY reads the codes from
    -- an init plan ((SELECT v_codes): no size known). Otherwise every call would plan anew.
    -- Some account is striped or unknown: a second pass, a new statement (so it also sees an
    -- account striped by a ledger.set_account_stripes that committed while the first waited).
    -- A striped account's amounts are its row plus its stripes.
    -- A loop, not aggregates: there is usually one such account, and three appends cost less
    -- to set up in each transaction than three aggregates.
    IF coalesce(array_length(v_num, 1), 0) < cardinality(v_codes) THEN
        FOR v_row IN
            SELECT l.account_id, l.code, l.currency, l.balance + coalesce(x.b, 0) AS balance,
                   l.pending_out + coalesce(x.o, 0) AS pending_out,
                   l.pending_in + coalesce(x.i, 0) AS pending_in, l.closed
              FROM (SELECT a.account_id, a.code, a.currency, a.balance, a.pending_out, a.pending_in,
                           a.closed_at IS NOT NULL AS closed
                      FROM ledger.account AS a
                     WHERE a.tenant_id = p_tenant AND a.code = ANY ((SELECT v_codes)::text[]) AND a.stripes > 0
                     ORDER BY a.account_id
                       FOR KEY SHARE) AS l
              LEFT JOIN LATERAL (
                    SELECT sum(s.balance) AS b, sum(s.pending_out) AS o, sum(s.pending_in) AS i
                      FROM ledger.account_stripe AS s
                     WHERE s.tenant_id = p_tenant AND s.account_id = l.account_id) AS x ON true
        LOOP
            v_num := v_num || ARRAY[[v_row.account_id, v_row.balance::bigint,
                v_row.pending_out::bigint, v_row.pending_in::bigint, c_min, c_max,
                v_row.closed::integer]];
            v_acode := v_acode || v_row.code;
            v_cur := v_cur || v_row.currency;
        END LOOP;
    END IF;

    -- Each leg's slot: a few legs look up directly, many through one hash join.
    IF v_m <= 16 THEN
        FOR j IN 1 .. v_m LOOP
            v_slot[j] := array_position(v_acode, p_leg_codes[j]);
        END LOOP;
    ELSE
        SELECT array_agg(s.slot ORDER BY u.j) INTO v_slot
          FROM unnest(p_leg_codes) WITH ORDINALITY AS u(code, j)
          LEFT JOIN unnest(v_acode) WITH ORDINALITY AS s(code, slot) ON s.code = u.code;
    END IF;

    FOR i IN 1 .. v_n LOOP
        CONTINUE WHEN p_entry_ids[i] IS NULL;
        v_f := coalesce(p_first[i], i);
        IF v_f <> i AND v_holder[v_f] IS NOT NULL THEN
            -- An earlier item of this call holds the key.
            v_o := v_holder[v_f];
            IF p_fingerprints[i] = p_fingerprints[v_o] THEN
                owners[i] := v_o;
            ELSE
                error_codes[i] := 'PB003';
                messages[i] := 'idempotency key reused with different parameters';
                details[i] := format('key=%s entry_id=%s', p_keys[i], p_entry_ids[v_o]);
                hints[i] := 'Use a new key for a new movement; retry with exactly the same parameters.';
                v_failed := true;
            END IF;
            CONTINUE;
        END IF;

        -- One pass over the legs finds the first leg of each kind of problem (few expressions:
        -- plpgsql prepares each one it meets once per transaction).
        v_missing := NULL;
        v_mixed := false;
        v_closed_leg := NULL;
        v_limit_leg := NULL;
        FOR j IN v_start[i] .. v_end[i] LOOP
            v_s := v_slot[j];
            IF v_s IS NULL THEN
                v_missing := j;
                EXIT;
            END IF;
            v_mixed := v_mixed OR v_cur[v_s] <> v_cur[v_slot[v_start[i]]];
            v_closed_leg := coalesce(v_closed_leg, CASE WHEN v_num[v_s][7] = 1 THEN j END);
            -- numeric: a huge amount is a limit error, never a bigint overflow.
            v_limit_leg := coalesce(v_limit_leg, CASE WHEN CASE WHEN p_leg_amounts[j] < 0
                THEN v_num[v_s][2]::numeric - v_num[v_s][3] + p_leg_amounts[j] < v_num[v_s][5]
                     OR p_pending AND v_num[v_s][3]::numeric - p_leg_amounts[j] > c_max
                ELSE v_num[v_s][2]::numeric + v_num[v_s][4] + p_leg_amounts[j] > v_num[v_s][6]
                     OR p_pending AND v_num[v_s][4]::numeric + p_leg_amounts[j] > c_max END THEN j END);
        END LOOP;

        IF v_missing IS NOT NULL THEN
            error_codes[i] := 'PB005';
            messages[i] := 'account not found';
            details[i] := format('account=%s', p_leg_codes[v_missing]);
            hints[i] := 'Open it first with ledger.open_account.';
        ELSIF v_mixed AND p_one_currency THEN
            -- Mixed currencies that balance per currency (post_entry, reversals) were checked
            -- by ledger._move before the key claim.
            error_codes[i] := 'PB006';
            messages[i] := 'accounts of different currencies in one movement';
            details[i] := format('accounts=%s', array_to_string(p_leg_codes[v_start[i]:v_end[i]], ','));
        ELSIF v_closed_leg IS NOT NULL THEN
            error_codes[i] := 'PB007';
            messages[i] := 'account is closed';
            details[i] := format('account=%s', p_leg_codes[v_closed_leg]);
        ELSIF v_limit_leg IS NOT NULL THEN
            v_s := v_slot[v_limit_leg];
            v_a := p_leg_amounts[v_limit_leg];
            IF v_a < 0 THEN
                error_codes[i] := 'PB001';
                messages[i] := format('insufficient funds in account %s', v_acode[v_s]);
                details[i] := format('account=%s available=%s requested=%s pending=%s min_balance=%s',
                    v_acode[v_s], v_num[v_s][2]::numeric - v_num[v_s][3], -v_a::numeric, v_num[v_s][3],
                    v_num[v_s][5]);
            ELSE
                error_codes[i] := 'PB002';
                messages[i] := format('account %s would exceed its maximum balance', v_acode[v_s]);
                details[i] := format('account=%s balance=%s pending_in=%s requested=%s max_balance=%s',
                    v_acode[v_s], v_num[v_s][2], v_num[v_s][4], v_a, v_num[v_s][6]);
            END IF;
        ELSE
            owners[i] := i;
            v_holder[v_f] := i;
            v_posted := true;
            -- What this item leaves is what the next ones see.
            IF i < v_n THEN
                FOR j IN v_start[i] .. v_end[i] LOOP
                    v_s := v_slot[j];
                    v_a := p_leg_amounts[j];
                    IF NOT p_pending THEN
                        v_num[v_s][2] := v_num[v_s][2] + v_a;
                    ELSIF v_a < 0 THEN
                        v_num[v_s][3] := v_num[v_s][3] - v_a;
                    ELSE
                        v_num[v_s][4] := v_num[v_s][4] + v_a;
                    END IF;
                END LOOP;
            END IF;
            CONTINUE;
        END IF;
        v_failed := true;
        EXIT WHEN p_atomic;
    END LOOP;

    IF v_posted AND NOT (p_atomic AND v_failed) THEN
        -- Taken under the locks, so posted_at orders an account's postings as they took effect.
        v_now := clock_timestamp();
        INSERT INTO ledger.posting (tenant_id, entry_id, posting_no, account_id, kind, amount, posted_at)
        SELECT p_tenant, p_entry_ids[g.i], g.j - v_start[g.i] + 1, v_num[v_slot[g.j]][1],
               (CASE WHEN NOT p_pending THEN 'B' WHEN p_leg_amounts[g.j] < 0 THEN 'O' ELSE 'I' END)::"char",
               CASE WHEN p_pending THEN abs(p_leg_amounts[g.j]) ELSE p_leg_amounts[g.j] END, v_now
          FROM (SELECT l.j, p_leg_items[l.j] AS i FROM generate_subscripts(p_leg_codes, 1) AS l(j)) AS g
         WHERE owners[g.i] = g.i;
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._apply_legs(text, text[], bigint[], integer[], uuid[], integer[], text[], bigint[], boolean, boolean, boolean) IS
    'Private: lock, check (in item order, against running balances) and post the legs of new entries; per item the owner of its result or its error (pending legs raise pending_out/pending_in).';
