-- The guards are ordinary triggers, and whoever owns a table may switch its triggers off
-- (ALTER TABLE ... DISABLE TRIGGER), drop them, or replace the functions behind them. Where
-- pgbalance is migrated by a superuser, these event triggers keep that door for superusers
-- (a migration, or a repair): DDL on any object of the five schemas by any other session
-- user, the owner role included, is refused and rolled back. This function and the schemas
-- stay the superuser's (sql/90_security/owner.sql hands everything else to pgbalance_owner),
-- so the owner can neither replace the check nor drop a schema with it.
-- GRANT and REVOKE are DDL too (the owner could grant the app INSERT on ledger.posting and
-- forge history), but pg_event_trigger_ddl_commands() names no object for them: so the
-- privileges of every object of the five schemas are digested before the command
-- (ddl_command_start, pgbalance_guard_grant) and after it, and a change is refused. GRANT and
-- REVOKE elsewhere (the app's own tables, roles) pass. Creating an event trigger needs a
-- superuser, so a migrate run by another role installs only this function
-- (the weaker deployment of docs/operations.md).
CREATE OR REPLACE FUNCTION ledger._guard_ddl()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_type text;
    v_object text;
    v_acl text;
BEGIN
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.rolname = session_user) THEN
        RETURN;
    END IF;
    IF TG_TAG IN ('GRANT', 'REVOKE') THEN
        SELECT md5(string_agg(x.acl, ';' ORDER BY x.acl)) INTO v_acl FROM (
            SELECT 'n' || n.oid || '=' || coalesce(n.nspacl::text, '') FROM pg_catalog.pg_namespace AS n
             WHERE n.nspname IN ('ledger', 'wallet', 'booking', 'fees', 'tuition')
            UNION ALL
            SELECT 'c' || c.oid || '=' || coalesce(c.relacl::text, '') FROM pg_catalog.pg_class AS c
             WHERE c.relnamespace::regnamespace::text IN ('ledger', 'wallet', 'booking', 'fees', 'tuition')
            UNION ALL
            SELECT 'a' || a.attrelid || '.' || a.attnum || '=' || a.attacl::text
              FROM pg_catalog.pg_attribute AS a JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
             WHERE c.relnamespace::regnamespace::text IN ('ledger', 'wallet', 'booking', 'fees', 'tuition')
               AND a.attacl IS NOT NULL
            UNION ALL
            SELECT 'p' || p.oid || '=' || coalesce(p.proacl::text, '') FROM pg_catalog.pg_proc AS p
             WHERE p.pronamespace::regnamespace::text IN ('ledger', 'wallet', 'booking', 'fees', 'tuition')
            UNION ALL
            SELECT 't' || t.oid || '=' || coalesce(t.typacl::text, '') FROM pg_catalog.pg_type AS t
             WHERE t.typnamespace::regnamespace::text IN ('ledger', 'wallet', 'booking', 'fees', 'tuition')
        ) AS x(acl);
        IF TG_EVENT = 'ddl_command_start' THEN
            PERFORM set_config('pgbalance.guard_acl', v_acl, true);
            RETURN;
        END IF;
        IF v_acl IS DISTINCT FROM current_setting('pgbalance.guard_acl', true) THEN
            v_type := 'privileges';
            v_object := 'ledger,wallet,booking,fees,tuition';
        END IF;
    ELSIF TG_EVENT = 'sql_drop' THEN
        SELECT o.object_type, o.object_identity INTO v_type, v_object
          FROM pg_event_trigger_dropped_objects() AS o
         WHERE o.schema_name IN ('ledger', 'wallet', 'booking', 'fees', 'tuition')
            OR (o.object_type = 'schema' AND o.object_identity IN ('ledger', 'wallet', 'booking', 'fees', 'tuition'))
         LIMIT 1;
    ELSIF TG_EVENT = 'ddl_command_end' THEN
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
    'Private: event trigger function (pgbalance_guard_ddl, pgbalance_guard_drop, pgbalance_guard_grant): 42501 for DDL on pgbalance objects, GRANT and REVOKE on them included, by a session user that is not a superuser, so no owner can switch the guard triggers off, replace them, or grant itself around them.';

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
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger WHERE evtname = 'pgbalance_guard_grant') THEN
            CREATE EVENT TRIGGER pgbalance_guard_grant ON ddl_command_start
                WHEN TAG IN ('GRANT', 'REVOKE')
                EXECUTE FUNCTION ledger._guard_ddl();
        END IF;
        COMMENT ON EVENT TRIGGER pgbalance_guard_ddl IS
            'pgbalance: refuses DDL on pgbalance objects by a session user that is not a superuser (ledger._guard_ddl).';
        COMMENT ON EVENT TRIGGER pgbalance_guard_drop IS
            'pgbalance: refuses dropping pgbalance objects (guard triggers included) by a session user that is not a superuser (ledger._guard_ddl).';
        COMMENT ON EVENT TRIGGER pgbalance_guard_grant IS
            'pgbalance: digests the privileges on pgbalance objects before a GRANT or REVOKE, so pgbalance_guard_ddl refuses one by a session user that is not a superuser (ledger._guard_ddl).';
    END IF;
END
$$;
