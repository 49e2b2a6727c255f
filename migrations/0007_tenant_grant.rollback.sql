-- Dropping the grants would make every tenant-bound role unbound again, reaching every
-- tenant, so this rollback refuses to run while any grant exists (revoke them first).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

DO $$
BEGIN
    IF EXISTS (SELECT FROM ledger.tenant_grant) THEN
        RAISE EXCEPTION 'ledger.tenant_grant holds grants: rolling back 0007_tenant_grant would unbind their roles';
    END IF;
END
$$;
-- Undoing 0007_tenant_grant is what this rollback is for; the check above keeps every grant.
-- squawk-ignore ban-drop-table
DROP TABLE ledger.tenant_grant;
