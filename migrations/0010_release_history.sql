-- depends: 0006_perf_stripes
-- Which pgbalance release is installed: `pgbalance migrate` and the SQL bundle each add a row
-- (ledger._record_release) when the release or its last migration changes; ledger.version()
-- reads the newest. One row per install or upgrade, for every tenant at once: it is the only
-- table without tenant_id (a Citus reference table, docs/scaling.md).

-- Fail fast rather than queue behind a long transaction while holding locks (see .squawk.toml).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE ledger.release_history (
    release_id     bigint      GENERATED ALWAYS AS IDENTITY,
    release        text        NOT NULL,
    last_migration text        NOT NULL,
    installed_at   timestamptz NOT NULL DEFAULT now(),
    installed_by   text        NOT NULL DEFAULT current_user,
    CONSTRAINT release_history_pkey PRIMARY KEY (release_id),
    CONSTRAINT release_history_release_format CHECK (release ~ '^[0-9]+\.[0-9]+\.[0-9]+'),
    CONSTRAINT release_history_last_migration_not_empty CHECK (last_migration <> '')
);
COMMENT ON TABLE ledger.release_history IS
    'Every pgbalance release installed in this database, oldest first (ledger.version() reads the newest). Written only by ledger._record_release.';
COMMENT ON COLUMN ledger.release_history.release IS 'The release (PEP 440 version of the pgbalance package or bundle).';
COMMENT ON COLUMN ledger.release_history.last_migration IS 'The newest migration that release applies.';
COMMENT ON COLUMN ledger.release_history.installed_at IS 'When it was installed (transaction time).';
COMMENT ON COLUMN ledger.release_history.installed_by IS 'The role that installed it.';
