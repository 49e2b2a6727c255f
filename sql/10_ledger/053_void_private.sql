-- ledger.void's body; p_user = false is the path of the workflow that made the hold.
CREATE OR REPLACE FUNCTION ledger._void(p_tenant text, p_entry_id bigint, p_user boolean)
RETURNS SETOF ledger.movement_result
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_entry ledger.entry;
BEGIN
    v_entry := ledger._lock_entry(p_tenant, p_entry_id);
    IF p_user THEN
        PERFORM ledger._check_user_entry(v_entry.entry_id, v_entry.idempotency_key, 'voided');
    END IF;
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
COMMENT ON FUNCTION ledger._void(text, bigint, boolean) IS
    'Private: ledger.void; p_user = false lets a workflow void its own pgb: hold.';
