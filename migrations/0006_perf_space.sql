-- depends: 0001_ledger
-- Space per transfer (docs/performance.md): what every movement adds to the ledger's indexes.
--
-- An account's postings were indexed by (tenant_id, account_id, posted_at). Statements and
-- point-in-time balances read all of an account's postings anyway (the opening balance before
-- p_since sums every earlier one), so the time in the key saved a sort of the window but cost
-- a full index tuple per posting. Keyed by (tenant_id, account_id) alone, the index holds each
-- account once per leaf page with a list of row pointers (B-tree deduplication): a posting
-- costs about 6 bytes there instead of about 50.
--
-- Idempotency keys are unique per tenant through the md5 of the key (16 bytes in the index)
-- instead of the key itself (often a 36-character UUID): the same guarantee (a different key
-- with the same md5 would be refused as a conflict, never mistaken for a replay: the replay
-- reads the entry by the key itself), at about 60% of the index size. The constraint becomes
-- a unique index of the same name; the kernel's claims infer it (ON CONFLICT (tenant_id,
-- (md5(idempotency_key)::uuid))) and lookups by key use it with the md5 predicate.
--
-- Entry and posting ids only grow, so their primary keys fill pages to the brim when split
-- at the right end (fillfactor 100 instead of 90); the account table keeps room on each page
-- so balance updates stay heap-only (HOT) and do not bloat its indexes.

-- Fail fast rather than queue behind a long transaction while holding locks (see .squawk.toml).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '600s';

-- Replaced in this transaction by the index below; a DBA with a large ledger builds
-- posting_account_idx CONCURRENTLY beforehand (docs/performance.md), which makes this a no-op.
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX IF NOT EXISTS posting_account_idx ON ledger.posting (tenant_id, account_id);
-- Brief: postings are already locked for the index build above; dropping the old one is a
-- catalog change in the same transaction.
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX ledger.posting_account_time_idx;
COMMENT ON INDEX ledger.posting_account_idx IS
    'An account''s postings (statement, balance_at, verify); deduplicated: one key per account per page.';

-- Built while the table is locked for this migration; on a large ledger build it beforehand
-- under another name CONCURRENTLY and swap the names (docs/performance.md).
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX entry_idempotency_key_md5_key ON ledger.entry (tenant_id, (md5(idempotency_key)::uuid));
-- The md5 index above holds the same uniqueness from here on.
-- squawk-ignore ban-drop-constraint
ALTER TABLE ledger.entry DROP CONSTRAINT entry_idempotency_key_key;
-- The name stays what it was: only the kernel's own functions refer to it.
-- squawk-ignore renaming-object
ALTER INDEX ledger.entry_idempotency_key_md5_key RENAME TO entry_idempotency_key_key;
COMMENT ON INDEX ledger.entry_idempotency_key_key IS
    'Idempotency keys are unique per tenant (by their md5: 16 bytes per entry instead of the key).';

ALTER INDEX ledger.entry_pkey SET (fillfactor = 100);
ALTER INDEX ledger.posting_pkey SET (fillfactor = 100);
ALTER TABLE ledger.account SET (fillfactor = 85);
