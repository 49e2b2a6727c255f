-- depends: 0006_perf_space
-- Space per transfer (docs/performance.md): ledger.posting rebuilt with its columns in an
-- order that wastes no alignment padding. A posting row was 80 bytes (tenant ids up to 7
-- characters; 112 for a UUID tenant id) because each 8-byte column after a short one started
-- on the next 8-byte boundary; with the 8-byte columns first it is 72 (96). Two postings per
-- transfer: 16 bytes per transfer. Same columns, constraints, index and comment; only the
-- physical order changes (SELECT * lists them in the new order; nothing in pgbalance
-- depends on column positions).
--
-- The table is copied, so the migration takes as long as the ledger is big and locks it
-- meanwhile. The trigger functions of sql/ already exist on an upgrade: the triggers are
-- put back here in the same transaction, so no posting can ever go in without them (sql/,
-- re-applied right after by `pgbalance migrate`, sets their comments).

-- Fail fast rather than queue behind a long transaction while holding locks (see .squawk.toml).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '3600s';

-- Written once and never updated: no other table ever references it.
CREATE TABLE ledger.posting_rebuilt (
    entry_id   bigint      NOT NULL,
    account_id bigint      NOT NULL,
    amount     bigint      NOT NULL,
    posted_at  timestamptz NOT NULL,
    -- Numbers the postings of one entry (a few per leg): 2 bytes keep the primary key narrow.
    -- squawk-ignore prefer-bigint-over-smallint
    posting_no smallint    NOT NULL,
    -- "char" is PostgreSQL's 1-byte internal type, not character(n): one letter, no padding.
    -- squawk-ignore ban-char-field
    kind       "char"      NOT NULL,
    tenant_id  text        NOT NULL
);
INSERT INTO ledger.posting_rebuilt (entry_id, account_id, amount, posted_at, posting_no, kind,
                                    tenant_id)
SELECT entry_id, account_id, amount, posted_at, posting_no, kind, tenant_id
  FROM ledger.posting
 ORDER BY tenant_id, entry_id, posting_no;
-- Its rows live on in ledger.posting_rebuilt, which takes its name below.
-- squawk-ignore ban-drop-table
DROP TABLE ledger.posting;
-- The rebuilt table takes the old one's place under its name.
-- squawk-ignore renaming-table
ALTER TABLE ledger.posting_rebuilt RENAME TO posting;

-- The constraints and the index of the old table, built on the new one while it is locked
-- for this migration.
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX posting_pkey ON ledger.posting (tenant_id, entry_id, posting_no)
    WITH (fillfactor = 100);
ALTER TABLE ledger.posting ADD CONSTRAINT posting_pkey PRIMARY KEY USING INDEX posting_pkey;
-- Checked against rows that satisfied it in the old table a moment ago.
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE ledger.posting ADD CONSTRAINT posting_entry_fkey FOREIGN KEY (tenant_id, entry_id)
    REFERENCES ledger.entry (tenant_id, entry_id);
-- Likewise.
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE ledger.posting ADD CONSTRAINT posting_account_fkey FOREIGN KEY (tenant_id, account_id)
    REFERENCES ledger.account (tenant_id, account_id);
-- Likewise.
-- squawk-ignore constraint-missing-not-valid
ALTER TABLE ledger.posting ADD CONSTRAINT posting_kind_known CHECK (kind IN ('B', 'O', 'I'));
-- Likewise.
-- squawk-ignore constraint-missing-not-valid
ALTER TABLE ledger.posting ADD CONSTRAINT posting_amount_not_zero CHECK (amount <> 0);
-- As in 0006_perf_space (the table is new and locked).
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX posting_account_idx ON ledger.posting (tenant_id, account_id);
COMMENT ON TABLE ledger.posting IS 'Append-only history; inserting rows here is the only way a balance changes.';
COMMENT ON INDEX ledger.posting_account_idx IS
    'An account''s postings (statement, balance_at, verify); deduplicated: one key per account per page.';

DO $$
BEGIN
    IF to_regprocedure('ledger._apply_postings()') IS NOT NULL THEN
        CREATE TRIGGER apply_postings
            AFTER INSERT ON ledger.posting
            REFERENCING NEW TABLE AS new_postings
            FOR EACH STATEMENT EXECUTE FUNCTION ledger._apply_postings();
    END IF;
    IF to_regprocedure('ledger._guard_history()') IS NOT NULL THEN
        CREATE TRIGGER guard_posting_history
            BEFORE UPDATE OR DELETE ON ledger.posting
            FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history();
        CREATE TRIGGER guard_posting_truncate
            BEFORE TRUNCATE ON ledger.posting
            FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history();
    END IF;
END
$$;
