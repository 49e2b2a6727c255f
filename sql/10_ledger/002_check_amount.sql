CREATE OR REPLACE FUNCTION ledger._check_amount(p_what text, p_value bigint, p_nullable boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
AS $$
BEGIN
    IF p_value IS NULL AND NOT p_nullable THEN
        PERFORM ledger._raise('22023', format('%s must not be NULL', p_what));
    ELSIF p_value <= 0 THEN
        PERFORM ledger._raise('22023', format('%s must be greater than 0', p_what),
            format('%s=%s', p_what, p_value));
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._check_amount(text, bigint, boolean) IS
    'Private: 22023 unless the amount is a positive bigint (or NULL where allowed).';
