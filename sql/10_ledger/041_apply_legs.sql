-- Locks the accounts of a new movement in account_id order, checks them in the contract's
-- order (PB005, PB006, PB007, PB001/PB002) and inserts the postings. The entry row exists.
CREATE OR REPLACE FUNCTION ledger._apply_legs(
    p_tenant text, p_entry_id bigint, p_codes text[], p_amounts bigint[],
    p_pending boolean, p_one_currency boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    v_ids bigint[] := '{}';
    v_missing text;
    v_closed text;
    v_currency text;
    v_mixed boolean := false;
    v_limit_code text;
    v_limit_message text;
    v_limit_detail text;
    v_unbalanced text;
    v_now timestamptz;
BEGIN
    PERFORM FROM ledger.account AS a
     WHERE a.tenant_id = p_tenant AND a.code = ANY (p_codes)
     ORDER BY a.account_id
       FOR NO KEY UPDATE;

    FOR r IN
        SELECT u.code, u.amount, a.account_id, a.currency, a.balance, a.pending_out,
               a.pending_in, a.min_balance, a.max_balance, a.closed_at
          FROM unnest(p_codes, p_amounts) WITH ORDINALITY AS u(code, amount, ord)
          LEFT JOIN ledger.account AS a ON a.tenant_id = p_tenant AND a.code = u.code
         ORDER BY u.ord
    LOOP
        v_ids := v_ids || r.account_id;
        IF r.account_id IS NULL THEN
            v_missing := coalesce(v_missing, r.code);
            CONTINUE;
        END IF;
        IF v_currency IS NULL THEN
            v_currency := r.currency;
        ELSIF v_currency <> r.currency THEN
            v_mixed := true;
        END IF;
        IF r.closed_at IS NOT NULL THEN
            v_closed := coalesce(v_closed, r.code);
        END IF;
        CONTINUE WHEN v_limit_code IS NOT NULL;
        -- numeric: a huge amount is a limit error, never a bigint overflow.
        IF r.amount < 0 AND r.balance::numeric - r.pending_out + r.amount < r.min_balance THEN
            v_limit_code := 'PB001';
            v_limit_message := format('insufficient funds in account %s', r.code);
            v_limit_detail := format('account=%s available=%s requested=%s pending=%s min_balance=%s',
                r.code, r.balance - r.pending_out, -r.amount, r.pending_out, r.min_balance);
        ELSIF r.amount > 0 AND r.balance::numeric + r.pending_in + r.amount
                               > coalesce(r.max_balance, 9223372036854775807) THEN
            v_limit_code := 'PB002';
            v_limit_message := format('account %s would exceed its maximum balance', r.code);
            v_limit_detail := format('account=%s balance=%s pending_in=%s requested=%s max_balance=%s',
                r.code, r.balance, r.pending_in, r.amount,
                coalesce(r.max_balance::text, '9223372036854775807'));
        END IF;
    END LOOP;

    IF v_missing IS NOT NULL THEN
        PERFORM ledger._raise('PB005', 'account not found', format('account=%s', v_missing),
            'Open it first with ledger.open_account.');
    END IF;
    IF v_mixed THEN
        IF p_one_currency THEN
            PERFORM ledger._raise('PB006', 'accounts of different currencies in one movement',
                format('accounts=%s', array_to_string(p_codes, ',')));
        END IF;
        SELECT a.currency INTO v_unbalanced
          FROM unnest(p_codes, p_amounts) AS u(code, amount)
          JOIN ledger.account AS a ON a.tenant_id = p_tenant AND a.code = u.code
         GROUP BY a.currency
        HAVING sum(u.amount) <> 0
         LIMIT 1;
        IF v_unbalanced IS NOT NULL THEN
            PERFORM ledger._raise('22023', 'legs do not balance within each currency',
                format('currency=%s', v_unbalanced));
        END IF;
    END IF;
    IF v_closed IS NOT NULL THEN
        PERFORM ledger._raise('PB007', 'account is closed', format('account=%s', v_closed));
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
