-- Roles are cluster-wide: create them once, tolerate a concurrent migrate doing the same.
-- pgbalance_owner (NOLOGIN) owns every pgbalance object (sql/90_security/owner.sql): the
-- SECURITY DEFINER functions then run with the rights of a role no session logs in as.
-- A migrating role that may not create roles (docs/operations.md) finds them made already.
DO $$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['pgbalance_app', 'pgbalance_auditor', 'pgbalance_owner'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = v_role)
           AND (v_role <> 'pgbalance_owner'
                OR (SELECT r.rolsuper OR r.rolcreaterole FROM pg_catalog.pg_roles AS r
                     WHERE r.rolname = current_user)) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
END
$$;
