-- depends: 0012_entry_changes
-- Tenant grants name their role by OID (role_id, a regrole) instead of by name: renaming a
-- bound role keeps its grants, and a role dropped and re-created under the same name starts
-- unbound instead of inheriting them. role_name stays, for display: the name at grant time.
-- regrole (not oid) so a pg_dump / restore carries the role by name and maps it to the
-- restored role's new OID. Grants of roles that no longer exist are deleted: by OID they
-- match no one, by name they would bind whoever takes that name next.

-- Fail fast rather than queue behind a long transaction while holding locks (see .squawk.toml).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

ALTER TABLE ledger.tenant_grant ADD COLUMN role_id regrole;
COMMENT ON COLUMN ledger.tenant_grant.role_id IS
    'The login role (session_user) the tenant is granted to, by OID: a rename keeps the grant, a re-created role of the same name does not get it.';
COMMENT ON COLUMN ledger.tenant_grant.role_name IS
    'The role''s name when it was granted (display only: access is decided by role_id).';
UPDATE ledger.tenant_grant AS g SET role_id = r.oid
  FROM pg_catalog.pg_roles AS r WHERE r.rolname = g.role_name;
DELETE FROM ledger.tenant_grant AS g WHERE g.role_id IS NULL;
-- Tiny table: the NOT NULL scan under the lock is instant (a CHECK would be a second rule).
-- squawk-ignore adding-not-nullable-field
ALTER TABLE ledger.tenant_grant ALTER COLUMN role_id SET NOT NULL;
-- The key changes (the table is tiny: a few rows per tenant-bound role, so rebuilding key and
-- index under the lock is instant; CONCURRENTLY cannot run in yoyo's transaction).
-- squawk-ignore ban-drop-constraint
ALTER TABLE ledger.tenant_grant DROP CONSTRAINT tenant_grant_pkey;
-- A primary key cannot be NOT VALID; the tiny table is checked at once.
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE ledger.tenant_grant ADD CONSTRAINT tenant_grant_pkey PRIMARY KEY (tenant_id, role_id);
-- "Is this role bound at all?" is asked by role on every call (ledger._check_access).
-- Tiny table, inside yoyo's transaction (see above).
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX ledger.tenant_grant_role_idx;
-- Tiny table, inside yoyo's transaction (see above).
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX tenant_grant_role_idx ON ledger.tenant_grant (role_id, tenant_id);
