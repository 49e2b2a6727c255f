-- Reasons and approvers are stored as given: bounded like every free-form argument.
CREATE OR REPLACE FUNCTION ledger._check_text(p_what text, p_value text, p_empty_ok boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF length(p_value) > 1000 THEN
        PERFORM ledger._raise('22023', format('%s is longer than 1000 characters', p_what),
            format('length=%s limit=1000', length(p_value)));
    ELSIF p_value = '' AND NOT p_empty_ok THEN
        PERFORM ledger._raise('22023', format('%s must not be empty', p_what), format('%s=''''', p_what));
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._check_text(text, text, boolean) IS
    'Private: 22023 when free text (a reason, an approver) is longer than 1000 characters, or empty where p_empty_ok is false; NULL passes.';
