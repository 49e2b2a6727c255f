-- The safe default (docs/operations.md): the objects of the five schemas are owned by the
-- NOLOGIN role pgbalance_owner, which no application logs in as, so the owner's rights
-- (ALTER TABLE ... DISABLE TRIGGER, writing the tables directly) belong to no login session.
-- Re-run on every migrate, so objects a later migration creates are handed over too. A
-- migrating role that may not hand objects over (neither a superuser nor a member of
-- pgbalance_owner) keeps them: that deployment is documented as the weaker one.
DO $$
DECLARE
    v_sql text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgbalance_owner')
       OR NOT pg_catalog.pg_has_role(current_user, 'pgbalance_owner', 'MEMBER') THEN
        RAISE NOTICE 'pgbalance objects stay owned by %: it may not hand them to pgbalance_owner', current_user;
        RETURN;
    END IF;
    -- The schemas and the DDL guard (ledger._guard_ddl) stay the migrating role's: the owner
    -- of a schema may drop it with everything in it, and the owner of the guard could
    -- replace it (sql/90_security/grants.sql gives the owner USAGE on the schemas).
    FOR v_sql IN
        -- Tables take their indexes, identity sequences and row types along; a sequence of
        -- its own (none today) is handed over by itself.
        SELECT format('ALTER %s %s OWNER TO pgbalance_owner',
                      CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, c.oid::regclass)
          FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
         WHERE n.nspname IN ('ledger', 'wallet', 'booking', 'fees', 'tuition')
           AND c.relkind IN ('r', 'p', 'S')
           AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_catalog.pg_depend AS d
                     WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
           AND c.relowner <> 'pgbalance_owner'::regrole
        UNION ALL
        SELECT format('ALTER ROUTINE %s OWNER TO pgbalance_owner', p.oid::regprocedure)
          FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
         WHERE n.nspname IN ('ledger', 'wallet', 'booking', 'fees', 'tuition')
           AND p.proowner <> 'pgbalance_owner'::regrole AND p.oid <> 'ledger._guard_ddl()'::regprocedure
    LOOP
        EXECUTE v_sql;
    END LOOP;
END
$$;
