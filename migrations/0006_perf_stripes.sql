-- depends: 0001_ledger
-- Hot accounts (docs/performance.md). An account with no floor and no ceiling (min_balance
-- and max_balance both NULL) may be striped (ledger.set_account_stripes): its amounts then go
-- to one of `stripes` rows of ledger.account_stripe, chosen per transaction by the posting
-- trigger (ledger._apply_postings), and are summed on read (ledger._account_out,
-- ledger.verify), so concurrent movements into it do not queue behind one row lock held
-- through commit. Nothing is checked against such an account, so nothing needs its single
-- row. Accounts with a limit are never striped: their checks need the locked row. Striping is
-- opt-in because it has one cost: overlapping movements into a striped account are not
-- serialised, so its statement lists them in the order they took their locks, which may
-- differ from the order they committed (docs/performance.md). An account's amounts are always
-- its row plus the sum of its stripes (likewise pending_out and pending_in).

-- Fail fast rather than queue behind a long transaction while holding locks (see .squawk.toml).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- 0 = not striped; a striped account has no floor and no ceiling.
-- At most 64 stripes (the CHECK below): 2 bytes are plenty.
-- squawk-ignore prefer-bigint-over-smallint
ALTER TABLE ledger.account ADD COLUMN stripes smallint NOT NULL DEFAULT 0;
-- The column is new and 0 everywhere, and ADD COLUMN already holds the table's lock for this
-- transaction: NOT VALID plus a later VALIDATE would not shorten anything.
-- squawk-ignore constraint-missing-not-valid
ALTER TABLE ledger.account ADD CONSTRAINT account_stripes_unbounded
    CHECK (stripes = 0 OR (stripes >= 1 AND stripes <= 64 AND min_balance IS NULL AND max_balance IS NULL));
COMMENT ON COLUMN ledger.account.stripes IS
    'Stripe rows its amounts are spread over (0 = none, the default); only for accounts with no floor and no ceiling (ledger.set_account_stripes).';

CREATE TABLE ledger.account_stripe (
    tenant_id   text     NOT NULL,
    account_id  bigint   NOT NULL,
    -- Below 64 (the CHECK): 2 bytes keep the primary key narrow.
    -- squawk-ignore prefer-bigint-over-smallint
    stripe_no   smallint NOT NULL,
    balance     bigint   NOT NULL DEFAULT 0,
    pending_out bigint   NOT NULL DEFAULT 0,
    pending_in  bigint   NOT NULL DEFAULT 0,
    CONSTRAINT account_stripe_pkey PRIMARY KEY (tenant_id, account_id, stripe_no),
    CONSTRAINT account_stripe_account_fkey FOREIGN KEY (tenant_id, account_id)
        REFERENCES ledger.account (tenant_id, account_id),
    CONSTRAINT account_stripe_no_range CHECK (stripe_no >= 0 AND stripe_no < 64)
);
COMMENT ON TABLE ledger.account_stripe IS
    'Stripe rows of striped accounts (ledger.set_account_stripes; no floor, no ceiling): an account''s balance and pending columns are its row plus the sum of its stripes. Written only by ledger._apply_postings.';
