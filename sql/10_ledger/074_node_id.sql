-- The server a change-feed cursor was made on: its system identifier, which its streaming
-- replicas share and any other server (a Citus node a tenant moved to, a restore elsewhere)
-- does not. Transaction ids and snapshots mean something only there. pg_control_system()
-- reads a file, so the value is kept for the session in a setting; a session that sets it
-- itself only makes its own reads refuse or accept the wrong cursors.
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
    RETURN v_node;
END
$$;
COMMENT ON FUNCTION ledger._node_id() IS
    'Private: this server''s system identifier (the same on its streaming replicas), as text; read once per session.';
