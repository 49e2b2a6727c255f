-- Claims p_payment_ref and, for an applied payment, books it from the clearing account into
-- the booking account under a key derived from the reference. The booking row is locked.
-- Returns NULL when the claim lost to a concurrent payment of another booking that has since
-- committed the same reference; the caller then replays or raises PB003.
CREATE OR REPLACE FUNCTION booking._record_payment(
    p_tenant text, p_booking booking.booking, p_kind text, p_amount bigint, p_payment_ref text,
    p_applied boolean, p_reason text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_payment_no bigint;
    v_entry_id bigint;
BEGIN
    INSERT INTO booking.payment AS p (tenant_id, payment_ref, booking_id, kind, amount, applied, reason)
    VALUES (p_tenant, p_payment_ref, p_booking.booking_id, p_kind, p_amount, p_applied, p_reason)
    ON CONFLICT ON CONSTRAINT payment_pkey DO NOTHING
    RETURNING p.payment_no INTO v_payment_no;
    IF v_payment_no IS NULL OR NOT p_applied THEN
        RETURN v_payment_no;
    END IF;
    SELECT e.entry_id INTO v_entry_id
      FROM ledger._post(p_tenant, 'pgb:booking:pay:' || p_payment_ref,
                        ARRAY[booking._clearing_account(p_booking.currency),
                              booking._booking_account(p_booking.booking_id)],
                        ARRAY[-p_amount, p_amount],
                        jsonb_build_object('workflow', 'booking', 'kind', p_kind,
                                           'booking', p_booking.booking_id,
                                           'payment_ref', p_payment_ref),
                        p_pending => false, p_expires_at => NULL, p_one_currency => true, p_user => false) AS e;
    UPDATE booking.payment AS p SET entry_id = v_entry_id
     WHERE p.tenant_id = p_tenant AND p.payment_ref = p_payment_ref;
    RETURN v_payment_no;
END
$$;
COMMENT ON FUNCTION booking._record_payment(text, booking.booking, text, bigint, text, boolean, text) IS
    'Private: claim a payment_ref and, when applied, book the payment from the provider clearing account into the booking account.';
