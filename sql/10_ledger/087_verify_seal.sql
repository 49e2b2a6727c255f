CREATE OR REPLACE FUNCTION ledger.verify_seal(p_tenant text, p_digest text)
RETURNS SETOF ledger.verify_result
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    IF p_digest IS NULL OR p_digest !~ '^[0-9a-f]{64}$' THEN
        PERFORM ledger._raise('22023', 'p_digest must be a seal digest (64 hex digits)',
            format('digest=%s', coalesce(left(p_digest, 100), 'NULL')));
    END IF;
    RETURN QUERY SELECT * FROM ledger._verify_links(p_tenant);
    RETURN QUERY SELECT * FROM ledger._verify_chain(p_tenant, p_digest);
END
$$;
COMMENT ON FUNCTION ledger.verify_seal(text, text) IS
    'Check a tenant''s seal chain against a digest kept elsewhere (printed by pgbalance seal): recompute every seal from the rows it sealed; rows for each digest that differs, and one if p_digest is not reproduced. No rows = history up to that seal is what was sealed. For the owner and pgbalance_auditor.';
