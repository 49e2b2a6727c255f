-- Seals go with this rollback; postings and entries are untouched.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '3600s';

-- Undoing 0009_seal is what this rollback is for: seals are derived from history.
-- squawk-ignore ban-drop-table
DROP TABLE ledger.cursor_key;
-- As above.
-- squawk-ignore ban-drop-table
DROP TABLE ledger.seal_balance;
-- As above.
-- squawk-ignore ban-drop-table
DROP TABLE ledger.seal;
-- The index of 0006_perf_space, rebuilt (the table is locked for this rollback anyway).
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX posting_account_idx ON ledger.posting (tenant_id, account_id);
COMMENT ON INDEX ledger.posting_account_idx IS
    'An account''s postings (statement, balance_at, verify); deduplicated: one key per account per page.';
-- Replaced by the index above.
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX ledger.posting_account_time_idx;
-- Only incremental verify used it.
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX ledger.posting_time_brin;
-- Likewise.
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX ledger.entry_reverses_idx;
