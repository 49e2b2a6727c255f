-- On Citus, a write holds its tenant's shard group in place from its first statement to its
-- commit (docs/scaling.md, "Hot tenants"). A shard move or split with
-- shard_transfer_mode 'block_writes' takes the group's shard metadata lock (ExclusiveLock) on
-- every node for the whole copy; Citus's own writers take it (ShareLock) statement by
-- statement, and reads not at all. That leaves two holes a ledger cannot have:
--   - a write rerouted to the tenant's new shard after a split (Citus 13.2.2,
--     TryToRerouteFastPathModifyQuery) runs without the new shard's lock, so a move of that
--     shard that starts at once copies it without the write, then drops the copy it was in:
--     an acknowledged entry is gone;
--   - a call's locking reads (FOR UPDATE) taken on the old placement before the move, then its
--     writes on the new one after it, decide on rows another call has changed meanwhile.
-- So every write call (ledger._check_access with p_write) takes the lock itself, ShareLock
-- like Citus's writers (writes never wait for each other), before it reads anything: a move
-- or split waits for the calls in flight to commit, and calls that arrive during it wait for
-- it, then run against the new placement. If a split committed while this waited, the tenant
-- now has another shard: lock that one too.
-- ledger._check_access calls it only on a server that loaded Citus (citus.version is set; a
-- session cannot set it, so no client can skip the lock); the database may still have no
-- citus extension or no distributed ledger, and then this does nothing.
CREATE OR REPLACE FUNCTION ledger._lock_placement(p_tenant text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_shard bigint;
    v_now bigint;
BEGIN
    IF p_tenant IS NULL OR pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN;
    END IF;
    -- Only reached where the citus extension exists: plpgsql plans a statement when it first
    -- runs it, so elsewhere these names are never resolved.
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition AS d
                    WHERE d.logicalrelid = 'ledger.account'::regclass) THEN
        RETURN;
    END IF;
    v_shard := pg_catalog.get_shard_id_for_distribution_column('ledger.account', p_tenant);
    LOOP
        -- 5 = ShareLock (conflicts with the ExclusiveLock of a move or split).
        PERFORM pg_catalog.lock_shard_metadata(5, ARRAY[v_shard]);
        v_now := pg_catalog.get_shard_id_for_distribution_column('ledger.account', p_tenant);
        EXIT WHEN v_now = v_shard;
        v_shard := v_now;
    END LOOP;
END
$$;
COMMENT ON FUNCTION ledger._lock_placement(text) IS
    'Private, called by ledger._check_access for writes: on Citus, hold the tenant''s shard group in place (its shard metadata lock, ShareLock) until the transaction ends, so a block_writes move or split waits for the call and the call for it; nothing where ledger.account is not distributed.';
