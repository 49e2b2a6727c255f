-- depends: 0001_ledger
-- The wallet workflow's tables. Money lives in the kernel: one account per wallet
-- (pgb:wallet:<user>, min_balance 0), a funding and a revenue account per currency.
-- These rows record what the workflow did and claim references; they never hold balances.

-- Fail fast rather than queue behind a long transaction while holding locks (see .squawk.toml).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE SCHEMA wallet;
COMMENT ON SCHEMA wallet IS 'pgbalance workflow: wallets with top-ups, purchases and refunds of failed purchases, built on the ledger kernel.';

CREATE TABLE wallet.wallet (
    tenant_id    text        NOT NULL,
    user_id      text        NOT NULL,
    currency     text        NOT NULL,
    account_code text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT wallet_pkey PRIMARY KEY (tenant_id, user_id),
    CONSTRAINT wallet_account_code_key UNIQUE (tenant_id, account_code),
    CONSTRAINT wallet_account_fkey FOREIGN KEY (tenant_id, account_code)
        REFERENCES ledger.account (tenant_id, code),
    CONSTRAINT wallet_user_not_empty CHECK (user_id <> ''),
    CONSTRAINT wallet_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT wallet_account_code_derived CHECK (account_code = 'pgb:wallet:' || user_id)
);
COMMENT ON TABLE wallet.wallet IS 'One row per wallet; its money is the kernel account account_code (min_balance 0).';

-- tx_no orders a wallet's history; the reference is the idempotency claim (unique per
-- tenant across top-ups and purchases). entry_id is set in the claiming transaction,
-- right after the kernel posted the movement.
CREATE TABLE wallet.tx (
    tenant_id       text        NOT NULL,
    reference       text        NOT NULL,
    tx_no           bigint      GENERATED ALWAYS AS IDENTITY,
    user_id         text        NOT NULL,
    kind            text        NOT NULL,
    amount          bigint      NOT NULL,
    status          text        NOT NULL DEFAULT 'completed',
    items           jsonb       NOT NULL DEFAULT '[]'::jsonb,
    entry_id        bigint,
    refund_entry_id bigint,
    failure_reason  text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    failed_at       timestamptz,
    CONSTRAINT tx_pkey PRIMARY KEY (tenant_id, reference),
    CONSTRAINT tx_wallet_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES wallet.wallet (tenant_id, user_id),
    CONSTRAINT tx_entry_fkey FOREIGN KEY (tenant_id, entry_id)
        REFERENCES ledger.entry (tenant_id, entry_id),
    CONSTRAINT tx_refund_entry_fkey FOREIGN KEY (tenant_id, refund_entry_id)
        REFERENCES ledger.entry (tenant_id, entry_id),
    CONSTRAINT tx_reference_not_empty CHECK (reference <> ''),
    CONSTRAINT tx_kind_known CHECK (kind IN ('topup', 'purchase')),
    CONSTRAINT tx_status_known CHECK (status IN ('completed', 'failed')),
    CONSTRAINT tx_amount_positive CHECK (amount > 0),
    CONSTRAINT tx_items_array CHECK (jsonb_typeof(items) = 'array'),
    CONSTRAINT tx_only_purchases_fail CHECK (status = 'completed' OR kind = 'purchase'),
    CONSTRAINT tx_failed_has_refund CHECK (status = 'completed' OR refund_entry_id IS NOT NULL),
    CONSTRAINT tx_refund_only_when_failed CHECK (status = 'failed' OR refund_entry_id IS NULL),
    CONSTRAINT tx_failed_at_only_when_failed CHECK ((status = 'failed') = (failed_at IS NOT NULL))
);
COMMENT ON TABLE wallet.tx IS 'Top-ups and purchases by reference; a failed purchase keeps its row with the refund entry.';

CREATE INDEX tx_history_idx ON wallet.tx (tenant_id, user_id, tx_no);
