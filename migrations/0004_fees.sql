-- depends: 0001_ledger 0002_wallet
-- Fees: service fees on completed loads. Shipper and carrier pay from their wallets
-- (wallet.open, kernel accounts pgb:wallet:<user>); the platform's revenue is one kernel
-- account per currency, pgb:fees:revenue:<CUR>, with no floor and no ceiling. A deduction is
-- one kernel entry (shipper -, carrier -, revenue +) posted with the load row's update; a
-- refund is the kernel reversal of that entry. Functions live in sql/40_fees.

-- Fail fast rather than queue behind a long transaction while holding locks (see .squawk.toml).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE SCHEMA fees;
COMMENT ON SCHEMA fees IS 'pgbalance workflow: service fees of completed loads, shipper and carrier wallets to platform revenue in one entry.';

CREATE TABLE fees.load (
    tenant_id       text        NOT NULL,
    load_id         text        NOT NULL,
    -- Names the load's kernel keys (pgb:fees:<load_no>:fee), which must fit 200 characters.
    load_no         bigint      GENERATED ALWAYS AS IDENTITY,
    shipper         text        NOT NULL,
    carrier         text        NOT NULL,
    currency        text        NOT NULL,
    status          text        NOT NULL DEFAULT 'CREATED',
    fee_status      text        NOT NULL DEFAULT 'NONE',
    shipper_fee     bigint,
    carrier_fee     bigint,
    fee_entry_id    bigint,
    refund_entry_id bigint,
    refund_reason   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    CONSTRAINT load_pkey PRIMARY KEY (tenant_id, load_id),
    CONSTRAINT load_no_key UNIQUE (tenant_id, load_no),
    CONSTRAINT load_fee_entry_fkey FOREIGN KEY (tenant_id, fee_entry_id)
        REFERENCES ledger.entry (tenant_id, entry_id),
    CONSTRAINT load_refund_entry_fkey FOREIGN KEY (tenant_id, refund_entry_id)
        REFERENCES ledger.entry (tenant_id, entry_id),
    CONSTRAINT load_id_not_empty CHECK (load_id <> ''),
    CONSTRAINT load_parties_differ CHECK (shipper <> carrier),
    CONSTRAINT load_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT load_status_known CHECK (status IN ('CREATED', 'COMPLETED')),
    CONSTRAINT load_completed_at_when_completed CHECK ((status = 'COMPLETED') = (completed_at IS NOT NULL)),
    CONSTRAINT load_fee_status_known CHECK (fee_status IN ('NONE', 'DEDUCTED', 'REFUNDED')),
    CONSTRAINT load_fees_only_when_completed CHECK (fee_status = 'NONE' OR status = 'COMPLETED'),
    CONSTRAINT load_shipper_fee_when_deducted CHECK ((fee_status = 'NONE') = (shipper_fee IS NULL)),
    CONSTRAINT load_carrier_fee_when_deducted CHECK ((fee_status = 'NONE') = (carrier_fee IS NULL)),
    CONSTRAINT load_fee_entry_when_deducted CHECK ((fee_status = 'NONE') = (fee_entry_id IS NULL)),
    CONSTRAINT load_refund_entry_when_refunded CHECK ((fee_status = 'REFUNDED') = (refund_entry_id IS NOT NULL)),
    CONSTRAINT load_shipper_fee_not_negative CHECK (shipper_fee >= 0),
    CONSTRAINT load_carrier_fee_not_negative CHECK (carrier_fee >= 0),
    CONSTRAINT load_fee_total_positive CHECK (shipper_fee + carrier_fee > 0)
);
COMMENT ON TABLE fees.load IS 'One row per load; its lock serialises completing, deducting and refunding its fees.';
