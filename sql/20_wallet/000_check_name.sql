-- User ids and references end up inside derived kernel names (pgb:wallet:<user>,
-- pgb:wallet:refund:<reference>), which the kernel caps at 200 characters: 180 leaves room.
CREATE OR REPLACE FUNCTION wallet._check_name(p_what text, p_value text)
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
COMMENT ON FUNCTION wallet._check_name(text, text) IS
    'Private: 22023 unless p_value is a non-empty name of at most 180 characters outside the reserved pgb: prefix.';
