-- Called after a key claim found the key taken. A separate statement from the claim, so
-- under READ COMMITTED it sees the winner's committed entry.
CREATE OR REPLACE FUNCTION ledger._replay(p_tenant text, p_key text, p_fingerprint uuid)
RETURNS TABLE (entry_id bigint, status text, replayed boolean)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_entry ledger.entry;
BEGIN
    SELECT * INTO v_entry FROM ledger.entry AS e
     WHERE e.tenant_id = p_tenant AND md5(e.idempotency_key)::uuid = md5(p_key)::uuid
       AND e.idempotency_key = p_key;
    IF v_entry.fingerprint IS DISTINCT FROM p_fingerprint THEN
        PERFORM ledger._raise('PB003', 'idempotency key reused with different parameters',
            format('key=%s entry_id=%s', p_key, v_entry.entry_id),
            'Use a new key for a new movement; retry with exactly the same parameters.');
    END IF;
    RETURN QUERY SELECT v_entry.entry_id, v_entry.status, true;
END
$$;
COMMENT ON FUNCTION ledger._replay(text, text, uuid) IS
    'Private: the entry already holding this key, replayed, or PB003 when its parameters differ.';
