CREATE OR REPLACE FUNCTION ledger.balance_at(p_tenant text, p_code text, p_at timestamptz)
RETURNS bigint
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id bigint;
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    v_id := ledger._account_id(p_tenant, p_code);
    IF p_at IS NULL THEN
        PERFORM ledger._raise('22023', 'p_at must not be NULL');
    END IF;
    RETURN (SELECT coalesce(sum(p.amount), 0)::bigint FROM ledger.posting AS p
             WHERE p.tenant_id = p_tenant AND p.account_id = v_id
               AND p.kind = 'B' AND p.posted_at <= p_at);
END
$$;
COMMENT ON FUNCTION ledger.balance_at(text, text, timestamptz) IS
    'The posted balance of an account at p_at: the sum of its postings with posted_at <= p_at.';
