-- "Create again" is idempotent: the same definition returns the existing row, a different one
-- is PB003. Callers pass the definitions as text arrays (NULL elements compare equal).
CREATE OR REPLACE FUNCTION ledger._check_definition(
    p_what text, p_name text, p_existing text[], p_requested text[])
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_existing IS DISTINCT FROM p_requested THEN
        PERFORM ledger._raise('PB003', format('%s already exists with a different definition', p_what),
            format('%s=%s existing=(%s) requested=(%s)', p_what, p_name,
                   array_to_string(p_existing, ',', 'NULL'), array_to_string(p_requested, ',', 'NULL')));
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._check_definition(text, text, text[], text[]) IS
    'Private: PB003 unless the existing definition p_existing equals the requested p_requested (the detail shows both).';
