-- Back to grants by role name (0007_tenant_grant's key), each under its role's current name.
-- Like every rollback from 0010_release_history on, it refuses as the first step of a plain
-- partial rollback: the installed functions read role_id (see 0010's rollback).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

DO $$
BEGIN
    IF coalesce(current_setting('pgbalance.rollback', true), '') <> 'on'
       AND to_regprocedure('ledger.transfer(text, text, text, text, bigint, jsonb)') IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = 'a partial rollback would leave the pgbalance functions broken',
            DETAIL = 'migration=0014_tenant_grant_role_id',
            HINT = 'Use `pgbalance migrate --to VERSION` (rolls back and installs that release''s functions) or `pgbalance migrate --rollback-all --yes`.';
    END IF;
END
$$;
UPDATE ledger.tenant_grant AS g SET role_name = r.rolname
  FROM pg_catalog.pg_roles AS r WHERE r.oid = g.role_id AND r.rolname <> g.role_name;
-- The key changes (the table is tiny: a few rows per tenant-bound role, so rebuilding key and
-- index under the lock is instant; CONCURRENTLY cannot run in yoyo's transaction).
-- squawk-ignore ban-drop-constraint
ALTER TABLE ledger.tenant_grant DROP CONSTRAINT tenant_grant_pkey;
-- A primary key cannot be NOT VALID; the tiny table is checked at once.
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE ledger.tenant_grant ADD CONSTRAINT tenant_grant_pkey PRIMARY KEY (tenant_id, role_name);
-- Tiny table, inside yoyo's transaction (see above).
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX ledger.tenant_grant_role_idx;
-- Tiny table, inside yoyo's transaction (see above).
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX tenant_grant_role_idx ON ledger.tenant_grant (role_name, tenant_id);
-- Undoing 0014 is what this rollback is for: role_name, kept up to date above, holds the role.
-- squawk-ignore ban-drop-column
ALTER TABLE ledger.tenant_grant DROP COLUMN role_id;
COMMENT ON COLUMN ledger.tenant_grant.role_name IS
    'The login role (session_user) the tenant is granted to.';
