-- The ledger kernel's tables. Functions, triggers and grants live in sql/ and are
-- re-applied on every migrate; this file holds only versioned DDL.

-- Fail fast rather than queue behind a long transaction while holding locks (see .squawk.toml).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE SCHEMA ledger;
COMMENT ON SCHEMA ledger IS 'pgbalance kernel: accounts, entries, postings. Balances change only through the posting trigger.';

CREATE TABLE ledger.account (
    tenant_id   text        NOT NULL,
    account_id  bigint      GENERATED ALWAYS AS IDENTITY,
    code        text        NOT NULL,
    currency    text        NOT NULL,
    balance     bigint      NOT NULL DEFAULT 0,
    pending_out bigint      NOT NULL DEFAULT 0,
    pending_in  bigint      NOT NULL DEFAULT 0,
    min_balance bigint,
    max_balance bigint,
    metadata    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    closed_at   timestamptz,
    CONSTRAINT account_pkey PRIMARY KEY (tenant_id, account_id),
    CONSTRAINT account_code_key UNIQUE (tenant_id, code),
    CONSTRAINT account_code_not_empty CHECK (code <> ''),
    CONSTRAINT account_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT account_pending_out_not_negative CHECK (pending_out >= 0),
    CONSTRAINT account_pending_in_not_negative CHECK (pending_in >= 0),
    CONSTRAINT account_min_balance_not_positive CHECK (min_balance <= 0),
    CONSTRAINT account_max_balance_not_negative CHECK (max_balance >= 0),
    -- The floor counts pending debits, the ceiling pending credits: a hold reserves room.
    CONSTRAINT account_floor CHECK (balance - pending_out >= min_balance),
    CONSTRAINT account_ceiling CHECK (balance + pending_in <= max_balance)
);
COMMENT ON TABLE ledger.account IS 'One row per account; balance and pending columns are written only by ledger._apply_postings.';

CREATE TABLE ledger.entry (
    tenant_id         text        NOT NULL,
    entry_id          bigint      GENERATED ALWAYS AS IDENTITY,
    idempotency_key   text        NOT NULL,
    fingerprint       uuid        NOT NULL,
    status            text        NOT NULL,
    amount            bigint      NOT NULL,
    reversed_amount   bigint      NOT NULL DEFAULT 0,
    reverses_entry_id bigint,
    expires_at        timestamptz,
    metadata          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT entry_pkey PRIMARY KEY (tenant_id, entry_id),
    CONSTRAINT entry_idempotency_key_key UNIQUE (tenant_id, idempotency_key),
    CONSTRAINT entry_reverses_fkey FOREIGN KEY (tenant_id, reverses_entry_id)
        REFERENCES ledger.entry (tenant_id, entry_id),
    CONSTRAINT entry_status_known CHECK (status IN ('posted', 'pending', 'voided', 'reversed')),
    CONSTRAINT entry_amount_positive CHECK (amount > 0),
    CONSTRAINT entry_reversed_amount_not_negative CHECK (reversed_amount >= 0),
    CONSTRAINT entry_reversed_amount_capped CHECK (reversed_amount <= amount)
);
COMMENT ON TABLE ledger.entry IS 'One row per movement (transfer, entry, hold, reversal); only status columns change after insert.';

-- kind: B moves the posted balance, O the pending_out column, I the pending_in column.
CREATE TABLE ledger.posting (
    tenant_id  text        NOT NULL,
    entry_id   bigint      NOT NULL,
    -- Numbers the postings of one entry (a few per leg): 2 bytes keep the primary key narrow.
    -- squawk-ignore prefer-bigint-over-smallint
    posting_no smallint    NOT NULL,
    account_id bigint      NOT NULL,
    -- "char" is PostgreSQL's 1-byte internal type, not character(n): one letter, no padding.
    -- squawk-ignore ban-char-field
    kind       "char"      NOT NULL,
    amount     bigint      NOT NULL,
    posted_at  timestamptz NOT NULL,
    CONSTRAINT posting_pkey PRIMARY KEY (tenant_id, entry_id, posting_no),
    CONSTRAINT posting_entry_fkey FOREIGN KEY (tenant_id, entry_id)
        REFERENCES ledger.entry (tenant_id, entry_id),
    CONSTRAINT posting_account_fkey FOREIGN KEY (tenant_id, account_id)
        REFERENCES ledger.account (tenant_id, account_id),
    CONSTRAINT posting_kind_known CHECK (kind IN ('B', 'O', 'I')),
    CONSTRAINT posting_amount_not_zero CHECK (amount <> 0)
);
COMMENT ON TABLE ledger.posting IS 'Append-only history; inserting rows here is the only way a balance changes.';

-- Statements and point-in-time balances read one account's postings in time order.
CREATE INDEX posting_account_time_idx ON ledger.posting (tenant_id, account_id, posted_at);
-- Hold expiry scans only what is still pending.
CREATE INDEX entry_pending_expiry_idx ON ledger.entry (expires_at)
    WHERE status = 'pending' AND expires_at IS NOT NULL;
