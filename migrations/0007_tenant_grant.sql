-- depends: 0006_perf_stripes
-- Tenant grants (ledger.grant_tenant / ledger.revoke_tenant): a role granted a tenant is
-- tenant-bound, and when it is the session_user every public function refuses the tenants it
-- does not hold (42501, ledger._check_access). A role with no row here is unbound and reaches
-- every tenant, so a single-tenant deployment needs no row at all. Revoking keeps the row
-- (revoked_at), so a role whose last tenant was revoked stays bound, to none. The table is tiny and read
-- by role on every call: on Citus it is a reference table (docs/scaling.md).

-- Fail fast rather than queue behind a long transaction while holding locks (see .squawk.toml).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE ledger.tenant_grant (
    tenant_id  text        NOT NULL,
    role_name  text        NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CONSTRAINT tenant_grant_pkey PRIMARY KEY (tenant_id, role_name),
    CONSTRAINT tenant_grant_tenant_not_empty CHECK (tenant_id <> ''),
    CONSTRAINT tenant_grant_role_not_empty CHECK (role_name <> '')
);
COMMENT ON TABLE ledger.tenant_grant IS
    'Tenants a role may act on when it is the session_user (ledger.grant_tenant, ledger.revoke_tenant). A role without rows is unbound and reaches every tenant.';
COMMENT ON COLUMN ledger.tenant_grant.role_name IS
    'The login role (session_user) the tenant is granted to.';
COMMENT ON COLUMN ledger.tenant_grant.revoked_at IS
    'When the grant was revoked (NULL: in force). The row stays: its role remains tenant-bound.';

-- "Is this role bound at all?" is asked by role on every call (ledger._check_access).
CREATE INDEX tenant_grant_role_idx ON ledger.tenant_grant (role_name, tenant_id);
