-- The guards are ordinary triggers, and whoever owns a table may switch its triggers off
-- (ALTER TABLE ... DISABLE TRIGGER), drop them, or replace the functions behind them. Where
-- pgbalance is migrated by a superuser, these event triggers keep that door for superusers
-- (a migration, or a repair): DDL on any object of the five schemas by any other session
-- user, the owner role included, is refused and rolled back. This function and the schemas
-- stay the superuser's (sql/90_security/owner.sql hands everything else to pgbalance_owner),
-- so the owner can neither replace the check nor drop a schema with it. Creating an event
-- trigger needs a superuser, so a migrate run by another role installs only this function
-- (the weaker deployment of docs/operations.md).
CREATE OR REPLACE FUNCTION ledger._guard_ddl()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_type text;
    v_object text;
BEGIN
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.rolname = session_user) THEN
        RETURN;
    END IF;
    IF TG_EVENT = 'sql_drop' THEN
        SELECT o.object_type, o.object_identity INTO v_type, v_object
          FROM pg_event_trigger_dropped_objects() AS o
         WHERE o.schema_name IN ('ledger', 'wallet', 'booking', 'fees', 'tuition')
            OR (o.object_type = 'schema' AND o.object_identity IN ('ledger', 'wallet', 'booking', 'fees', 'tuition'))
         LIMIT 1;
    ELSE
        SELECT c.object_type, c.object_identity INTO v_type, v_object
          FROM pg_event_trigger_ddl_commands() AS c
         WHERE c.schema_name IN ('ledger', 'wallet', 'booking', 'fees', 'tuition')
            OR (c.object_type = 'schema' AND c.object_identity IN ('ledger', 'wallet', 'booking', 'fees', 'tuition'))
         LIMIT 1;
    END IF;
    -- RAISE here, not ledger._raise: the command being checked may have just replaced it.
    IF v_object IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = 'pgbalance objects change only in a migration',
            DETAIL = format('command=%s object_type=%s object=%s role=%s', replace(TG_TAG, ' ', '_'),
                            replace(v_type, ' ', '_'), v_object, session_user),
            HINT = 'Schema changes (guard triggers included) are made by pgbalance migrate, run as a superuser.';
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._guard_ddl() IS
    'Private: event trigger function (pgbalance_guard_ddl, pgbalance_guard_drop): 42501 for DDL on pgbalance objects by a session user that is not a superuser, so no owner can switch the guard triggers off or replace them.';

DO $$
BEGIN
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.rolname = current_user) THEN
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger WHERE evtname = 'pgbalance_guard_ddl') THEN
            CREATE EVENT TRIGGER pgbalance_guard_ddl ON ddl_command_end
                EXECUTE FUNCTION ledger._guard_ddl();
        END IF;
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger WHERE evtname = 'pgbalance_guard_drop') THEN
            CREATE EVENT TRIGGER pgbalance_guard_drop ON sql_drop
                EXECUTE FUNCTION ledger._guard_ddl();
        END IF;
        COMMENT ON EVENT TRIGGER pgbalance_guard_ddl IS
            'pgbalance: refuses DDL on pgbalance objects by a session user that is not a superuser (ledger._guard_ddl).';
        COMMENT ON EVENT TRIGGER pgbalance_guard_drop IS
            'pgbalance: refuses dropping pgbalance objects (guard triggers included) by a session user that is not a superuser (ledger._guard_ddl).';
    END IF;
END
$$;
