-- Locks an entry (the object row, taken before its accounts) and the accounts it touches,
-- in account_id order.
CREATE OR REPLACE FUNCTION ledger._lock_entry(p_tenant text, p_entry_id bigint)
RETURNS ledger.entry
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_entry ledger.entry;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    IF p_entry_id IS NULL THEN
        PERFORM ledger._raise('22023', 'entry_id must not be NULL');
    END IF;
    SELECT * INTO v_entry FROM ledger.entry AS e
     WHERE e.tenant_id = p_tenant AND e.entry_id = p_entry_id
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'entry not found', format('entry_id=%s', p_entry_id));
    END IF;
    PERFORM FROM ledger.account AS a
     WHERE a.tenant_id = p_tenant
       AND a.account_id IN (SELECT p.account_id FROM (SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting AS x
                                                      UNION ALL
                                                      SELECT x.tenant_id, x.entry_id, x.posting_no, x.account_id, x.kind, x.amount, x.posted_at FROM ledger.posting_archive AS x) AS p
                             WHERE p.tenant_id = p_tenant AND p.entry_id = p_entry_id)
     ORDER BY a.account_id
       FOR NO KEY UPDATE;
    RETURN v_entry;
END
$$;
COMMENT ON FUNCTION ledger._lock_entry(text, bigint) IS
    'Private: lock an entry (PB005 if unknown in the tenant) and then its accounts in global order.';
