-- Workflow-supplied names (wallet users and references, booking ids and payment refs, fees
-- shippers and carriers) end up inside derived kernel names (pgb:wallet:<user>,
-- pgb:booking:pay:<payment_ref>, ...), which the kernel caps at 200 characters: 180 leaves room.
CREATE OR REPLACE FUNCTION ledger._check_reference(p_what text, p_value text)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_name(p_what, p_value, true);
    IF length(p_value) > 180 THEN
        PERFORM ledger._raise('22023', format('%s is longer than 180 characters', p_what),
            format('length=%s', length(p_value)));
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._check_reference(text, text) IS
    'Private: 22023 unless p_value is a non-empty name of at most 180 characters outside the reserved pgb: prefix (room for a workflow''s derived pgb: name).';
