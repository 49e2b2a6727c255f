SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '600s';

-- The time-ordered index of 0001_ledger, rebuilt.
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX posting_account_time_idx ON ledger.posting (tenant_id, account_id, posted_at);
-- Brief, as above: the table is already locked by the index build.
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX ledger.posting_account_idx;
-- The key constraint of 0001_ledger, back in place of the md5 index (the table is locked
-- for this rollback anyway).
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX entry_idempotency_key_text_key ON ledger.entry (tenant_id, idempotency_key);
-- Replaced by the index above.
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX ledger.entry_idempotency_key_key;
ALTER TABLE ledger.entry
    ADD CONSTRAINT entry_idempotency_key_key UNIQUE USING INDEX entry_idempotency_key_text_key;
ALTER INDEX ledger.entry_pkey RESET (fillfactor);
ALTER INDEX ledger.posting_pkey RESET (fillfactor);
ALTER TABLE ledger.account RESET (fillfactor);
