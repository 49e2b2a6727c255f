-- The first statement of every public function (ledger, wallet, booking, fees, tuition).
-- Writes take their locks and claim their keys assuming READ COMMITTED (a waiter re-reads the
-- winner's row in a new snapshot); under REPEATABLE READ or SERIALIZABLE that becomes 40001,
-- so writes refuse those levels before touching anything. READ UNCOMMITTED passes: PostgreSQL
-- runs it as READ COMMITTED. Reads work at any level.
-- A tenant-bound session_user (one with rows in ledger.tenant_grant) reaches only its tenants.
-- p_tenant NULL passes here: expire_holds(NULL) and verify(NULL) narrow to
-- ledger._granted_tenants(), every other function rejects a NULL tenant (22023).
--
-- It runs on every call, so it is kept cheap: an unbound role costs one probe of an index
-- that is empty where no grant exists (the second probe runs only for bound roles), and there
-- is no SET search_path clause: every caller is a public function with the pinned path, which
-- this inherits, and a SET clause would add a GUC save and restore to every call. Every name
-- below is schema-qualified.
CREATE OR REPLACE FUNCTION ledger._check_access(p_tenant text, p_write boolean)
RETURNS void
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    IF p_write AND pg_catalog.current_setting('transaction_isolation') IN ('repeatable read', 'serializable') THEN
        PERFORM ledger._raise('25000', 'pgbalance writes run at READ COMMITTED',
            pg_catalog.format('transaction_isolation=%s', pg_catalog.current_setting('transaction_isolation')),
            'Call it in its own transaction at READ COMMITTED, PostgreSQL''s default (or SET TRANSACTION ISOLATION LEVEL READ COMMITTED first); to move several amounts atomically use ledger.post_entry or ledger.transfer_batch with p_atomic.');
    END IF;
    -- Grants name the role by OID (regrole): a renamed role keeps its grants, a dropped and
    -- re-created one does not inherit them. The cast is a syscache lookup, no query.
    IF p_tenant IS NOT NULL
       AND EXISTS (SELECT FROM ledger.tenant_grant AS g
                    WHERE g.role_id = pg_catalog.quote_ident(session_user)::regrole) THEN
        IF NOT EXISTS (SELECT FROM ledger.tenant_grant AS g
                        WHERE g.tenant_id = p_tenant
                          AND g.role_id = pg_catalog.quote_ident(session_user)::regrole
                          AND g.revoked_at IS NULL) THEN
            PERFORM ledger._raise('42501', 'role may not act on this tenant',
                pg_catalog.format('role=%s tenant=%s', session_user, p_tenant),
                'The role is bound to the tenants granted to it with ledger.grant_tenant.');
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._check_access(text, boolean) IS
    'Private, first call of every public function: 25000 when a write (p_write) runs at REPEATABLE READ or SERIALIZABLE; 42501 when the session_user is tenant-bound (ledger.grant_tenant) and does not hold p_tenant.';
