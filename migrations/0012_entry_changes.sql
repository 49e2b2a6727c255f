-- depends: 0010_release_history
-- The change feed (ledger.changes, docs/changes.md) reads what the movements already write.
--
-- ledger.entry.created_xid: the transaction that created the entry (top-level xid8, set by
-- the column's DEFAULT, so no movement function names it). A reader compares it with
-- snapshots (pg_visible_in_snapshot) to tell which entries committed between two reads,
-- including a transaction that began before the earlier read and committed after it, which
-- an id or a timestamp cursor would skip. Entries made before this migration keep NULL: they
-- are older than any snapshot a cursor can hold.
--
-- ledger.entry_status_change: one row per change of an entry's status (capture, void,
-- expiry, full reversal), written by a trigger on the status UPDATE (ledger._record_status_change),
-- with the transaction's xid likewise. Only those cold paths write it; a transfer does not.

-- Fail fast rather than queue behind a long transaction while holding locks (see .squawk.toml).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '600s';

-- No default on ADD COLUMN (existing rows stay NULL, no rewrite); new rows get the xid below.
-- IF NOT EXISTS: on a large ledger a DBA adds the column and builds the index below
-- CONCURRENTLY before migrating (docs/operations.md).
ALTER TABLE ledger.entry ADD COLUMN IF NOT EXISTS created_xid xid8;
ALTER TABLE ledger.entry ALTER COLUMN created_xid SET DEFAULT pg_current_xact_id();
COMMENT ON COLUMN ledger.entry.created_xid IS
    'Top-level transaction that created the entry (ledger.changes compares it with snapshots); NULL for entries older than the change feed.';

-- The feed's window: a tenant's entries created since a cursor's snapshot. Built while the
-- table is locked by ADD COLUMN above; on a large ledger, build it beforehand CONCURRENTLY
-- (the IF NOT EXISTS then makes this a no-op).
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX IF NOT EXISTS entry_created_xid_idx ON ledger.entry (tenant_id, created_xid)
    WITH (fillfactor = 100) WHERE created_xid IS NOT NULL;
COMMENT ON INDEX ledger.entry_created_xid_idx IS
    'A tenant''s entries by creating transaction: the window ledger.changes reads after a cursor.';

CREATE TABLE ledger.entry_status_change (
    change_id       bigint      GENERATED ALWAYS AS IDENTITY,
    entry_id        bigint      NOT NULL,
    changed_at      timestamptz NOT NULL,
    changed_xid     xid8        NOT NULL DEFAULT pg_current_xact_id(),
    tenant_id       text        NOT NULL,
    status          text        NOT NULL,
    previous_status text        NOT NULL,
    CONSTRAINT entry_status_change_pkey PRIMARY KEY (tenant_id, entry_id, change_id),
    CONSTRAINT entry_status_change_entry_fkey FOREIGN KEY (tenant_id, entry_id)
        REFERENCES ledger.entry (tenant_id, entry_id),
    CONSTRAINT entry_status_change_status_known
        CHECK (status IN ('posted', 'pending', 'voided', 'reversed')),
    CONSTRAINT entry_status_change_previous_status_known
        CHECK (previous_status IN ('posted', 'pending', 'voided', 'reversed')),
    CONSTRAINT entry_status_change_changes_status CHECK (status <> previous_status)
);
COMMENT ON TABLE ledger.entry_status_change IS
    'Append-only: one row per committed change of an entry''s status (capture, void, expiry, full reversal), written by ledger._record_status_change; read by ledger.changes.';
COMMENT ON COLUMN ledger.entry_status_change.changed_xid IS
    'Top-level transaction that changed the status (ledger.changes compares it with snapshots).';
COMMENT ON COLUMN ledger.entry_status_change.previous_status IS
    'The status before the change; the first change''s is the status the entry was created with.';

-- The table is new and empty.
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX entry_status_change_xid_idx ON ledger.entry_status_change (tenant_id, changed_xid);
COMMENT ON INDEX ledger.entry_status_change_xid_idx IS
    'A tenant''s status changes by transaction: the window ledger.changes reads after a cursor.';
