-- The checks every install runs before applying anything (`pgbalance migrate`, the SQL bundle),
-- filled in by pgbalance.release.install_checks_sql: @KNOWN@ (this release's migration ids),
-- @CREATORS@ (kernel schema -> the migration that creates it), @VERSION@ (this release).
-- Works with or without yoyo's tables (an empty database has none).
DO $pgb$
DECLARE
    v_applied text[] := '{}';
    v_unknown text[];
    v_clash record;
BEGIN
    IF to_regclass('_yoyo_migration') IS NOT NULL THEN
        EXECUTE 'SELECT coalesce(array_agg(migration_id), ''{}'') FROM _yoyo_migration'
           INTO v_applied;
    END IF;
    -- Ids named NNNN_name are pgbalance's; other ids in _yoyo_migration are someone else's.
    v_unknown := ARRAY(SELECT m FROM unnest(v_applied) AS m
                        WHERE m ~ '^[0-9]{4}_' AND m <> ALL(@KNOWN@) ORDER BY m);
    IF cardinality(v_unknown) > 0 THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = 'this database has pgbalance migrations that release @VERSION@ does not know: a newer release is installed',
            DETAIL = format('unknown_migrations=%s', array_to_string(v_unknown, ',')),
            HINT = 'Upgrade with that release or a newer one; to come back to @VERSION@, run `pgbalance migrate --to @VERSION@ --yes` from the newer release. Nothing was applied.';
    END IF;
    FOR v_clash IN
        SELECT c.schema_name, c.migration, n.nspowner::regrole::text AS owner
          FROM (VALUES @CREATORS@) AS c(schema_name, migration)
          JOIN pg_catalog.pg_namespace AS n ON n.nspname = c.schema_name
         WHERE c.migration <> ALL(v_applied)
         ORDER BY c.schema_name
    LOOP
        RAISE EXCEPTION USING ERRCODE = '42P06',
            MESSAGE = format('schema %s already exists and was not created by pgbalance', v_clash.schema_name),
            DETAIL = format('schema=%s owner=%s creating_migration=%s', v_clash.schema_name, v_clash.owner, v_clash.migration),
            HINT = 'pgbalance needs the schemas ledger, wallet, booking, fees and tuition: install into another database, or rename or drop that schema. Nothing was applied.';
    END LOOP;
END
$pgb$;
