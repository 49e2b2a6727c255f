-- The server a change-feed cursor was made on, and since when it runs: its system identifier
-- (which its streaming replicas share and any other server, a Citus node a tenant moved to
-- or a restore elsewhere, does not) and its postmaster's start time. Transaction ids and
-- snapshots mean something only on that server, and only until it restarts: after a crash,
-- or on a standby promoted in a failover, transaction ids that never reached the WAL (or the
-- standby) are handed out again, below the xmax a cursor recorded, so a cursor from before
-- a restart would skip changes. pg_control_system() reads a file, so the identifier is kept
-- for the session in a setting (a session that sets it itself only makes its own reads
-- refuse or accept the wrong cursors); the start time is read each call.
CREATE OR REPLACE FUNCTION ledger._node_id()
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_node text := current_setting('pgbalance.node', true);
BEGIN
    IF v_node IS NULL OR v_node = '' THEN
        v_node := set_config('pgbalance.node', (pg_control_system()).system_identifier::text, false);
    END IF;
    RETURN v_node || '.' || (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint;
END
$$;
COMMENT ON FUNCTION ledger._node_id() IS
    'Private: this server''s system identifier (the same on its streaming replicas) and its start time (microseconds since the epoch), as text: <identifier>.<start>.';
