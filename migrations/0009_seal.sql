-- depends: 0006_perf_stripes
-- Seals, paged statements and point-in-time balances whose cost does not grow with history
-- (docs/performance.md, docs/operations.md).
--
-- An account's postings are indexed by (tenant_id, account_id, posted_at) again:
-- ledger.statement_page reads a page after a cursor (keyset) and ledger.balance_at sums only
-- the postings after the account's last checkpoint, which both need the postings of one
-- account in time order. 0006_perf_space keyed that index by (tenant_id, account_id) alone
-- because every reader then read an account's whole history anyway; that is no longer so.
--
-- A BRIN index on posted_at finds what came after a seal's horizon (incremental verify, the
-- next seal) without a B-tree entry per posting: postings are appended in about posted_at
-- order, so it is a few pages per gigabyte and an insert into a range not yet summarised
-- costs a lookup in its map.
--
-- ledger.seal records per tenant a horizon, a digest chaining the previous seal's digest with
-- every entry and posting sealed, and per account the balances at the horizon (only for
-- accounts that moved since the previous seal). ledger.cursor_key holds the HMAC key that
-- makes statement_page cursors unforgeable; only the owner reads it.

-- Fail fast rather than queue behind a long transaction while holding locks (see .squawk.toml).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '3600s';

-- Replaces posting_account_idx in this transaction; a DBA with a large ledger builds it
-- CONCURRENTLY beforehand (docs/operations.md), which makes this a no-op.
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX IF NOT EXISTS posting_account_time_idx ON ledger.posting (tenant_id, account_id, posted_at);
COMMENT ON INDEX ledger.posting_account_time_idx IS
    'An account''s postings in time order: statement pages (keyset), balance_at after a checkpoint, statement.';
-- Brief: postings are already locked for the index build above; dropping the old one is a
-- catalog change in the same transaction. Its key is a prefix of the new one.
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX ledger.posting_account_idx;
-- Built beforehand CONCURRENTLY on a large ledger (docs/operations.md), as above.
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX IF NOT EXISTS posting_time_brin ON ledger.posting USING brin (posted_at);
COMMENT ON INDEX ledger.posting_time_brin IS
    'Postings after a seal''s horizon (incremental verify, the next seal, archiving by time): block ranges, not a key per posting.';
-- Reversals of an entry (incremental verify re-checks only entries touched since the last
-- seal); partial, so only reversal entries pay for it.
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX IF NOT EXISTS entry_reverses_idx ON ledger.entry (tenant_id, reverses_entry_id)
    WHERE reverses_entry_id IS NOT NULL;
COMMENT ON INDEX ledger.entry_reverses_idx IS 'The reversals of an entry.';

CREATE TABLE ledger.seal (
    tenant_id    text        NOT NULL,
    seal_no      bigint      NOT NULL,
    horizon      timestamptz NOT NULL,
    max_entry_id bigint      NOT NULL,
    entries      bigint      NOT NULL,
    postings     bigint      NOT NULL,
    prev_digest  text        NOT NULL,
    digest       text        NOT NULL,
    sealed_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT seal_pkey PRIMARY KEY (tenant_id, seal_no),
    CONSTRAINT seal_horizon_key UNIQUE (tenant_id, horizon),
    CONSTRAINT seal_no_positive CHECK (seal_no >= 1),
    CONSTRAINT seal_digest_format CHECK (digest ~ '^[0-9a-f]{64}$'),
    CONSTRAINT seal_prev_digest_format CHECK (prev_digest ~ '^([0-9a-f]{64})?$'),
    CONSTRAINT seal_entries_not_negative CHECK (entries >= 0),
    CONSTRAINT seal_postings_not_negative CHECK (postings >= 0)
);
COMMENT ON TABLE ledger.seal IS
    'One row per seal of a tenant (ledger.seal): postings with posted_at < horizon are sealed; digest = sha256 over the tenant, prev_digest and every entry and posting sealed since the previous seal.';

CREATE TABLE ledger.seal_balance (
    tenant_id   text   NOT NULL,
    account_id  bigint NOT NULL,
    seal_no     bigint NOT NULL,
    balance     bigint NOT NULL,
    pending_out bigint NOT NULL,
    pending_in  bigint NOT NULL,
    CONSTRAINT seal_balance_pkey PRIMARY KEY (tenant_id, account_id, seal_no),
    -- No foreign key to ledger.account: its KEY SHARE lock on every account a seal writes
    -- would turn the movements' row locks on those accounts into multixacts until the seal
    -- commits. Accounts are never deleted; ledger.verify_full checks every checkpoint.
    CONSTRAINT seal_balance_seal_fkey FOREIGN KEY (tenant_id, seal_no)
        REFERENCES ledger.seal (tenant_id, seal_no)
);
COMMENT ON TABLE ledger.seal_balance IS
    'An account''s amounts at a seal''s horizon (sum of its postings before it), written for the accounts that moved since the previous seal: balance_at and incremental verify start here.';

-- HMAC-SHA256 key of statement_page cursors, stored as key XOR ipad and key XOR opad
-- (RFC 2104), so a MAC is two sha256 calls. 64 random bytes from gen_random_uuid().
CREATE TABLE ledger.cursor_key (
    one  boolean NOT NULL DEFAULT true,
    ipad bytea   NOT NULL,
    opad bytea   NOT NULL,
    CONSTRAINT cursor_key_pkey PRIMARY KEY (one),
    CONSTRAINT cursor_key_one CHECK (one),
    CONSTRAINT cursor_key_ipad_length CHECK (length(ipad) = 64),
    CONSTRAINT cursor_key_opad_length CHECK (length(opad) = 64)
);
COMMENT ON TABLE ledger.cursor_key IS
    'The key that signs statement_page cursors (HMAC-SHA256, as key XOR ipad / opad). Only the owner reads it.';
INSERT INTO ledger.cursor_key (ipad, opad)
SELECT string_agg(set_byte('\x00'::bytea, 0, b # 54), ''::bytea ORDER BY i),
       string_agg(set_byte('\x00'::bytea, 0, b # 92), ''::bytea ORDER BY i)
  FROM (SELECT i, get_byte(k, i) AS b
          FROM (SELECT uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())
                       || uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()) AS k) AS r,
               generate_series(0, 63) AS i) AS x;
