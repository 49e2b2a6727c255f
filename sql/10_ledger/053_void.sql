CREATE OR REPLACE FUNCTION ledger.void(p_tenant text, p_entry_id bigint)
RETURNS TABLE (entry_id bigint, status text, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_entry ledger.entry;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
    v_entry := ledger._lock_entry(p_tenant, p_entry_id);
    IF v_entry.status = 'voided' THEN
        RETURN QUERY SELECT v_entry.entry_id, v_entry.status, true;
        RETURN;
    END IF;
    IF v_entry.status <> 'pending' THEN
        PERFORM ledger._raise('PB004', 'only a pending hold can be voided',
            format('entry_id=%s status=%s', p_entry_id, v_entry.status),
            'Undo a posted movement with ledger.reverse.');
    END IF;
    PERFORM ledger._release_hold(p_tenant, p_entry_id, NULL);
    UPDATE ledger.entry AS e SET status = 'voided'
     WHERE e.tenant_id = p_tenant AND e.entry_id = p_entry_id;
    RETURN QUERY SELECT v_entry.entry_id, 'voided'::text, false;
END
$$;
COMMENT ON FUNCTION ledger.void(text, bigint) IS
    'Release a pending hold (status voided); again -> replayed; a posted one -> PB004.';
