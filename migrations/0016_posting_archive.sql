-- depends: 0014_tenant_grant_role_id
-- Archiving sealed history (docs/operations.md, "A posting table of a terabyte").
--
-- ledger.archive(tenant, seal_no) moves a tenant's postings sealed by that seal (posted_at
-- before its horizon; postings of holds still pending stay) from ledger.posting into
-- ledger.posting_archive, a table of the same shape and indexes that a DBA can put on another
-- tablespace. Every reader of history reads both tables, so statements, balance_at, verify,
-- verify_full and the seal digests see the same rows as before the move; the guards let a
-- posting leave ledger.posting only into an identical archived row (ledger._guard_archive).
-- ledger.archived records what each call moved.

-- Fail fast rather than queue behind a long transaction while holding locks (see .squawk.toml).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '600s';

CREATE TABLE ledger.posting_archive (
    entry_id   bigint      NOT NULL,
    account_id bigint      NOT NULL,
    amount     bigint      NOT NULL,
    posted_at  timestamptz NOT NULL,
    -- The columns of ledger.posting, types included: rows move between the two unchanged.
    -- squawk-ignore prefer-bigint-over-smallint
    posting_no smallint    NOT NULL,
    -- "char" (one byte), as ledger.posting.kind, not character.
    -- squawk-ignore ban-char-field
    kind       "char"      NOT NULL,
    tenant_id  text        NOT NULL,
    CONSTRAINT posting_archive_pkey PRIMARY KEY (tenant_id, entry_id, posting_no),
    CONSTRAINT posting_archive_kind_known CHECK (kind IN ('B', 'O', 'I')),
    CONSTRAINT posting_archive_amount_not_zero CHECK (amount <> 0)
);
COMMENT ON TABLE ledger.posting_archive IS
    'Sealed postings moved out of ledger.posting by ledger.archive (same columns and keys); every history reader reads both. Append-only; may live on another tablespace.';
-- A new, empty table: nothing to build concurrently.
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX posting_archive_account_time_idx
    ON ledger.posting_archive (tenant_id, account_id, posted_at);
COMMENT ON INDEX ledger.posting_archive_account_time_idx IS
    'An account''s archived postings in time order (statement pages, balance_at, statement).';

CREATE TABLE ledger.archived (
    tenant_id   text        NOT NULL,
    seal_no     bigint      NOT NULL,
    postings    bigint      NOT NULL,
    archived_at timestamptz NOT NULL DEFAULT now(),
    -- No foreign key to ledger.seal: a log of calls, and 0009_seal stays undoable on its own.
    CONSTRAINT archived_pkey PRIMARY KEY (tenant_id, seal_no, archived_at),
    CONSTRAINT archived_postings_not_negative CHECK (postings >= 0)
);
COMMENT ON TABLE ledger.archived IS
    'One row per ledger.archive call: the seal up to whose horizon a tenant''s postings were moved to ledger.posting_archive, and how many.';
