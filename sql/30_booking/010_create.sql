CREATE OR REPLACE FUNCTION booking.create(
    p_tenant text, p_booking text, p_total bigint, p_deposit bigint, p_currency text)
RETURNS SETOF booking.booking_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_existing booking.booking;
    v_claimed boolean;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_reference('booking', p_booking);
    PERFORM ledger._check_amount('total', p_total);
    PERFORM ledger._check_amount('deposit', p_deposit);
    IF p_deposit >= p_total THEN
        PERFORM ledger._raise('22023', 'deposit must be less than total',
            format('deposit=%s total=%s', p_deposit, p_total),
            'The balance payment pays total - deposit, which must be > 0.');
    END IF;
    PERFORM ledger._check_currency(p_currency);

    INSERT INTO booking.booking AS b (tenant_id, booking_id, currency, total, deposit)
    VALUES (p_tenant, p_booking, p_currency, p_total, p_deposit)
    ON CONFLICT ON CONSTRAINT booking_pkey DO NOTHING
    RETURNING true INTO v_claimed;
    IF v_claimed IS NULL THEN
        -- A separate statement: a fresh snapshot sees the winner's committed row.
        SELECT * INTO v_existing FROM booking.booking AS b
         WHERE b.tenant_id = p_tenant AND b.booking_id = p_booking;
        PERFORM ledger._check_definition('booking', p_booking,
            ARRAY[v_existing.total::text, v_existing.deposit::text, v_existing.currency],
            ARRAY[p_total::text, p_deposit::text, p_currency]);
        RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking, true, false);
        RETURN;
    END IF;

    PERFORM FROM ledger._open_account(p_tenant, booking._clearing_account(p_currency), p_currency,
        NULL, NULL, jsonb_build_object('workflow', 'booking', 'role', 'clearing'));
    -- The ceiling is the price: whatever goes wrong above, the booking account cannot hold more.
    PERFORM FROM ledger._open_account(p_tenant, booking._booking_account(p_booking), p_currency,
        0, p_total, jsonb_build_object('workflow', 'booking', 'booking', p_booking));
    RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking, false, false);
END
$$;
COMMENT ON FUNCTION booking.create(text, text, bigint, bigint, text) IS
    'Create booking p_booking (status PENDING) priced p_total with a deposit of p_deposit (0 < deposit < total) in p_currency; again with the same definition returns it (replayed), with another PB003. 22023 malformed input.';
