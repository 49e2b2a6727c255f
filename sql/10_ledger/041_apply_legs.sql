-- Locks the accounts of a new movement in account_id order, checks them in the contract's
-- order (PB005, PB006, PB007, PB001/PB002) and inserts the postings. The entry row exists.
-- One global lock order for every movement: its accounts that are not striped FOR NO KEY
-- UPDATE by account_id; then its striped accounts (no floor, no ceiling, stripes > 0:
-- ledger.set_account_stripes) FOR KEY SHARE by account_id. Nothing is checked against those,
-- so the share lock (it keeps ledger.close_account, FOR UPDATE, out) is all they need and
-- concurrent movements into one hot account do not queue; their deltas go to a stripe row,
-- locked last, in account_id order, by the posting trigger. Each pass also reads the rows.
CREATE OR REPLACE FUNCTION ledger._apply_legs(
    p_tenant text, p_entry_id bigint, p_codes text[], p_amounts bigint[],
    p_pending boolean, p_one_currency boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- A custom plan per call (for the array sizes) costs more than it saves.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    r ledger.account;
    v_rows ledger.account[];
    v_n int := cardinality(p_codes);
    v_ids bigint[] := array_fill(NULL::bigint, ARRAY[cardinality(p_codes)]);
    v_found int := 0;
    v_pos int;
    v_amount bigint;
    v_closed_pos int;
    v_limit_pos int;
    v_total record;
    v_currency text;
    v_mixed boolean := false;
    v_limit_code text;
    v_limit_message text;
    v_limit_detail text;
    v_now timestamptz;
BEGIN
    -- Locked rows come back as they are now.
    SELECT array_agg(l.a) INTO v_rows
      FROM (SELECT a FROM ledger.account AS a
             WHERE a.tenant_id = p_tenant AND a.code = ANY (p_codes) AND a.stripes = 0
             ORDER BY a.account_id
               FOR NO KEY UPDATE) AS l;
    -- Some account is striped or unknown: a second pass, a new statement (so it also sees an
    -- account striped by a ledger.set_account_stripes that committed while the first waited).
    IF coalesce(cardinality(v_rows), 0) < v_n THEN
        v_rows := coalesce(v_rows, '{}') || ARRAY(
            SELECT l.a
              FROM (SELECT a FROM ledger.account AS a
                     WHERE a.tenant_id = p_tenant AND a.code = ANY (p_codes) AND a.stripes > 0
                     ORDER BY a.account_id
                       FOR KEY SHARE) AS l);
    END IF;

    -- Errors name the first offending leg (legs order).
    FOREACH r IN ARRAY v_rows LOOP
        v_pos := array_position(p_codes, r.code);
        v_ids[v_pos] := r.account_id;
        v_found := v_found + 1;
        IF v_currency IS NULL THEN
            v_currency := r.currency;
        ELSIF v_currency <> r.currency THEN
            v_mixed := true;
        END IF;
        IF r.closed_at IS NOT NULL AND (v_closed_pos IS NULL OR v_pos < v_closed_pos) THEN
            v_closed_pos := v_pos;
        END IF;
        CONTINUE WHEN v_limit_pos < v_pos;
        v_amount := p_amounts[v_pos];
        -- Striped: nothing to check but that the total (the row plus the stripes) stays within
        -- a bigint, which only a huge amount can break; that one reads the stripes.
        CONTINUE WHEN r.stripes > 0 AND abs(v_amount) < 4503599627370496;
        IF r.min_balance IS NULL AND r.max_balance IS NULL AND abs(v_amount) >= 4503599627370496 THEN
            SELECT o.balance, o.pending_out, o.pending_in INTO v_total
              FROM ledger._account_out(p_tenant, r.code) AS o;
            r.balance := v_total.balance;
            r.pending_out := v_total.pending_out;
            r.pending_in := v_total.pending_in;
        END IF;
        -- numeric: a huge amount is a limit error, never a bigint overflow. Without a floor
        -- or a ceiling, what a bigint holds is the limit (balance, available, pending).
        IF v_amount < 0 AND r.balance::numeric - r.pending_out + v_amount
                            < coalesce(r.min_balance, -9223372036854775808)
           OR p_pending AND v_amount < 0 AND r.pending_out::numeric - v_amount > 9223372036854775807 THEN
            v_limit_pos := v_pos;
            v_limit_code := 'PB001';
            v_limit_message := format('insufficient funds in account %s', r.code);
            v_limit_detail := format('account=%s available=%s requested=%s pending=%s min_balance=%s',
                r.code, r.balance - r.pending_out, -v_amount::numeric, r.pending_out,
                coalesce(r.min_balance::text, '-9223372036854775808'));
        ELSIF v_amount > 0 AND r.balance::numeric + r.pending_in + v_amount
                               > coalesce(r.max_balance, 9223372036854775807)
           OR p_pending AND v_amount > 0 AND r.pending_in::numeric + v_amount > 9223372036854775807 THEN
            v_limit_pos := v_pos;
            v_limit_code := 'PB002';
            v_limit_message := format('account %s would exceed its maximum balance', r.code);
            v_limit_detail := format('account=%s balance=%s pending_in=%s requested=%s max_balance=%s',
                r.code, r.balance, r.pending_in, v_amount,
                coalesce(r.max_balance::text, '9223372036854775807'));
        END IF;
    END LOOP;

    IF v_found < v_n THEN
        PERFORM ledger._raise('PB005', 'account not found',
            format('account=%s', p_codes[array_position(v_ids, NULL)]),
            'Open it first with ledger.open_account.');
    END IF;
    -- Mixed currencies that balance per currency (post_entry, reversals) were checked by
    -- ledger._post before the key claim; single-currency movements refuse them here.
    IF v_mixed AND p_one_currency THEN
        PERFORM ledger._raise('PB006', 'accounts of different currencies in one movement',
            format('accounts=%s', array_to_string(p_codes, ',')));
    END IF;
    IF v_closed_pos IS NOT NULL THEN
        PERFORM ledger._raise('PB007', 'account is closed', format('account=%s', p_codes[v_closed_pos]));
    END IF;
    IF v_limit_code IS NOT NULL THEN
        PERFORM ledger._raise(v_limit_code, v_limit_message, v_limit_detail);
    END IF;

    -- Taken under the locks, so posted_at orders an account's postings as they took effect.
    v_now := clock_timestamp();
    INSERT INTO ledger.posting (tenant_id, entry_id, posting_no, account_id, kind, amount, posted_at)
    SELECT p_tenant, p_entry_id, u.ord, v_ids[u.ord],
           CASE WHEN NOT p_pending THEN 'B' WHEN u.amount < 0 THEN 'O' ELSE 'I' END,
           CASE WHEN p_pending THEN abs(u.amount) ELSE u.amount END,
           v_now
      FROM unnest(p_amounts) WITH ORDINALITY AS u(amount, ord);
END
$$;
COMMENT ON FUNCTION ledger._apply_legs(text, bigint, text[], bigint[], boolean, boolean) IS
    'Private: lock, check and post the legs of a new entry (pending legs raise pending_out/pending_in).';
