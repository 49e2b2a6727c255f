-- Entries under the reserved pgb: prefix belong to the workflow that made them (its name is
-- the key's second part: pgb:wallet:..., pgb:tuition:...): the workflow keeps its own rows in
-- step with them, so capturing, voiding or reversing one from outside would leave those rows
-- lying (a purchase still 'completed' after its money came back). Workflows reach their
-- entries through the private functions with p_user = false.
CREATE OR REPLACE FUNCTION ledger._check_user_entry(p_entry_id bigint, p_key text, p_action text)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_workflow text;
BEGIN
    IF starts_with(p_key, 'pgb:') THEN
        v_workflow := split_part(p_key, ':', 2);
        PERFORM ledger._raise('PB004', format('a %s workflow entry cannot be %s directly', v_workflow, p_action),
            format('entry_id=%s workflow=%s key=%s', p_entry_id, v_workflow, p_key),
            CASE v_workflow
                WHEN 'wallet' THEN 'A purchase is refunded with wallet.fail_purchase; top-ups and refunds are final and are not undone through the API.'
                WHEN 'fees' THEN 'A service fee is refunded with fees.refund_service_fee.'
                WHEN 'tuition' THEN 'A payment is settled with tuition.approve_payment or tuition.reject_payment.'
                WHEN 'booking' THEN 'Booking payments are recorded by booking.record_deposit and booking.complete_balance_payment and are not undone through the ledger.'
                ELSE 'Use the functions of the workflow that made it.' END);
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._check_user_entry(bigint, text, text) IS
    'Private: PB004 (DETAIL workflow=..., HINT the function to use) when the entry''s key starts with pgb:, i.e. a workflow made it; ledger.capture, ledger.void and ledger.reverse call it.';
