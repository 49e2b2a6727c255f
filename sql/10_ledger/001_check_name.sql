-- Names (tenants, codes, keys, references) are bounded so they always fit a btree entry,
-- and user-supplied ones may not use the prefix reserved for workflow-derived names.
CREATE OR REPLACE FUNCTION ledger._check_name(p_what text, p_value text, p_user boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_value IS NULL OR p_value = '' THEN
        PERFORM ledger._raise('22023', format('%s must be a non-empty string', p_what),
            format('%s=%s', p_what, coalesce(quote_literal(p_value), 'NULL')));
    ELSIF length(p_value) > 200 THEN
        PERFORM ledger._raise('22023', format('%s is longer than 200 characters', p_what),
            format('length=%s', length(p_value)));
    ELSIF p_user AND starts_with(p_value, 'pgb:') THEN
        PERFORM ledger._raise('22023', format('%s may not start with the reserved prefix pgb:', p_what),
            format('%s=%s', p_what, p_value), 'pgb: names are derived by pgbalance workflows.');
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._check_name(text, text, boolean) IS
    'Private: 22023 unless p_value is a non-empty name of at most 200 characters outside the reserved pgb: prefix.';
