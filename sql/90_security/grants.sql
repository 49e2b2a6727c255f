-- Applications get EXECUTE on the public API (names without a leading underscore) and no
-- table privilege at all; auditors read everything. Tenant grants (ledger.grant_tenant,
-- ledger.revoke_tenant) stay with the owner: an application may not widen its own reach. Re-run on every migrate, so functions
-- added by any schema are covered.
DO $$
DECLARE
    v_schema text;
    v_fn regprocedure;
BEGIN
    FOR v_schema IN
        SELECT n.nspname FROM pg_catalog.pg_namespace AS n
         WHERE n.nspname IN ('ledger', 'wallet', 'booking', 'fees', 'tuition')
    LOOP
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM PUBLIC, pgbalance_app', v_schema);
        EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM PUBLIC, pgbalance_app', v_schema);
        EXECUTE format('REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA %I FROM PUBLIC, pgbalance_app, pgbalance_auditor', v_schema);
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO pgbalance_app, pgbalance_auditor', v_schema);
        -- The owner of the objects (sql/90_security/owner.sql) is not the schemas' owner.
        IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgbalance_owner') THEN
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO pgbalance_owner', v_schema);
        END IF;
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO pgbalance_auditor', v_schema);
        FOR v_fn IN
            SELECT p.oid::regprocedure FROM pg_catalog.pg_proc AS p
             WHERE p.pronamespace = v_schema::regnamespace AND p.proname !~ '^_'
        LOOP
            IF v_fn::text LIKE 'ledger.verify%' THEN
                EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO pgbalance_auditor', v_fn);
            ELSIF v_fn::text LIKE 'ledger.grant\_tenant(%' OR v_fn::text LIKE 'ledger.revoke\_tenant(%' THEN
                CONTINUE;
            ELSE
                EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO pgbalance_app', v_fn);
            END IF;
        END LOOP;
    END LOOP;
    -- Auditors read statements, balances and entries as well as verify, and which tenants
    -- and which release exist (so `pgbalance verify --tenant` can tell a typo from a tenant).
    GRANT EXECUTE ON FUNCTION ledger.statement(text, text, timestamptz, timestamptz),
                              ledger.balance_at(text, text, timestamptz),
                              ledger.get_account(text, text),
                              ledger.get_entry(text, bigint),
                              ledger.get_tenant(text),
                              ledger.version(text),
                              ledger.statement_page(text, text, text, int) TO pgbalance_auditor;
    -- The key that signs statement cursors is the owner's alone.
    REVOKE ALL ON ledger.cursor_key FROM pgbalance_auditor;
END
$$;
