-- The foreign keys come back, checked against every posting (the table is locked meanwhile).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '3600s';

-- Restores the constraint 0008 dropped; every posting names an existing account (trigger).
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE ledger.posting ADD CONSTRAINT posting_account_fkey FOREIGN KEY (tenant_id, account_id)
    REFERENCES ledger.account (tenant_id, account_id);
-- Likewise for entries.
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE ledger.posting ADD CONSTRAINT posting_entry_fkey FOREIGN KEY (tenant_id, entry_id)
    REFERENCES ledger.entry (tenant_id, entry_id);
