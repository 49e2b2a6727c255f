-- Free-form arguments are stored as given (entry and account metadata, purchase items,
-- reasons, approvers): bounded so one call cannot bloat the ledger or a row past what a
-- page, an index or a statement reader expects.
CREATE OR REPLACE FUNCTION ledger._check_json(p_what text, p_value jsonb)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF octet_length(p_value::text) > 16384 THEN
        PERFORM ledger._raise('22023', format('%s is larger than 16 KiB', p_what),
            format('bytes=%s limit=16384', octet_length(p_value::text)),
            'Keep free-form JSON small; store large documents elsewhere and reference them.');
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._check_json(text, jsonb) IS
    'Private: 22023 when a free-form JSON argument is larger than 16 KiB (16384 bytes as JSON text); NULL passes.';
