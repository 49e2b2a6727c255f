CREATE OR REPLACE FUNCTION ledger._raise(
    p_code text, p_message text, p_detail text DEFAULT NULL, p_hint text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = p_code, MESSAGE = p_message, DETAIL = coalesce(p_detail, '');
    END IF;
    RAISE EXCEPTION USING ERRCODE = p_code, MESSAGE = p_message, DETAIL = coalesce(p_detail, ''),
        HINT = p_hint;
END
$$;
COMMENT ON FUNCTION ledger._raise(text, text, text, text) IS
    'Private: raise a pgbalance error with its SQLSTATE, DETAIL and HINT.';
