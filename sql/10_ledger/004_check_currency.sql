-- Currencies are ISO 4217 style codes: three upper-case letters.
CREATE OR REPLACE FUNCTION ledger._check_currency(p_currency text)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_currency IS NULL OR p_currency !~ '^[A-Z]{3}$' THEN
        PERFORM ledger._raise('22023', 'currency must be three upper-case letters',
            format('currency=%s', coalesce(p_currency, 'NULL')), 'Use an ISO 4217 code such as EUR.');
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._check_currency(text) IS
    'Private: 22023 unless p_currency is three upper-case letters.';
