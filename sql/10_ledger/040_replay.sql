-- Called by ledger._reverse after its key claim found the key taken (ledger._move decides
-- its replays set-based, with the same rule). A separate statement from the claim, so under
-- READ COMMITTED it sees the winner's committed entry.
CREATE OR REPLACE FUNCTION ledger._replay(p_tenant text, p_key text, p_fingerprint uuid)
RETURNS SETOF ledger.movement_result
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    v_entry_id bigint;
    v_fingerprint uuid;
    v_status text;
BEGIN
    SELECT e.entry_id, e.fingerprint, e.status INTO v_entry_id, v_fingerprint, v_status
      FROM ledger.entry AS e
     WHERE e.tenant_id = p_tenant AND md5(e.idempotency_key)::uuid = md5(p_key)::uuid
       AND e.idempotency_key = p_key;
    IF v_fingerprint IS DISTINCT FROM p_fingerprint THEN
        PERFORM ledger._raise('PB003', 'idempotency key reused with different parameters',
            format('key=%s entry_id=%s', p_key, v_entry_id),
            'Use a new key for a new movement; retry with exactly the same parameters.');
    END IF;
    RETURN QUERY SELECT v_entry_id, v_status, true;
END
$$;
COMMENT ON FUNCTION ledger._replay(text, text, uuid) IS
    'Private: the entry already holding this key, replayed, or PB003 when its parameters differ.';
