-- depends: 0001_ledger
-- The booking workflow's tables. Money lives in the kernel: payments move from a
-- per-currency provider clearing account (pgb:booking-clearing:<CUR>, no floor) into a
-- per-booking account (pgb:booking:<booking>, min 0, max = total). These rows hold the
-- booking's state machine and every payment received, applied or not.

-- Fail fast rather than queue behind a long transaction while holding locks (see .squawk.toml).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE SCHEMA booking;
COMMENT ON SCHEMA booking IS 'pgbalance workflow: bookings paid by a deposit and then a balance payment from payment-provider webhooks, built on the ledger kernel.';

CREATE TABLE booking.booking (
    tenant_id           text        NOT NULL,
    booking_id          text        NOT NULL,
    currency            text        NOT NULL,
    total               bigint      NOT NULL,
    deposit             bigint      NOT NULL,
    status              text        NOT NULL DEFAULT 'PENDING',
    deposit_paid        bigint      NOT NULL DEFAULT 0,
    balance_paid_amount bigint      NOT NULL DEFAULT 0,
    deposit_paid_at     timestamptz,
    balance_paid_at     timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT booking_pkey PRIMARY KEY (tenant_id, booking_id),
    CONSTRAINT booking_id_not_empty CHECK (booking_id <> ''),
    CONSTRAINT booking_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT booking_deposit_positive CHECK (deposit > 0),
    CONSTRAINT booking_deposit_below_total CHECK (deposit < total),
    CONSTRAINT booking_status_known CHECK (status IN ('PENDING', 'DEPOSIT_PAID', 'PAID')),
    CONSTRAINT booking_deposit_paid_whole CHECK (deposit_paid IN (0, deposit)),
    CONSTRAINT booking_deposit_paid_iff_past_pending CHECK ((deposit_paid > 0) = (status <> 'PENDING')),
    CONSTRAINT booking_deposit_paid_at_iff_paid CHECK ((deposit_paid > 0) = (deposit_paid_at IS NOT NULL)),
    CONSTRAINT booking_balance_paid_iff_paid CHECK ((balance_paid_amount > 0) = (status = 'PAID')),
    CONSTRAINT booking_balance_paid_at_iff_paid CHECK ((balance_paid_at IS NOT NULL) = (status = 'PAID')),
    CONSTRAINT booking_paid_sums_to_total CHECK (status <> 'PAID' OR deposit_paid + balance_paid_amount = total)
);
COMMENT ON TABLE booking.booking IS 'One row per booking: PENDING -> DEPOSIT_PAID -> PAID; locked first by every call that decides about it.';

-- Every payment the provider reported, by payment_ref (unique per tenant). applied = false:
-- a balance payment that arrived once the booking was PAID; it moved no money and waits
-- here to be refunded.
CREATE TABLE booking.payment (
    tenant_id   text        NOT NULL,
    payment_ref text        NOT NULL,
    payment_no  bigint      GENERATED ALWAYS AS IDENTITY,
    booking_id  text        NOT NULL,
    kind        text        NOT NULL,
    amount      bigint      NOT NULL,
    applied     boolean     NOT NULL,
    reason      text,
    entry_id    bigint,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT payment_pkey PRIMARY KEY (tenant_id, payment_ref),
    CONSTRAINT payment_booking_fkey FOREIGN KEY (tenant_id, booking_id)
        REFERENCES booking.booking (tenant_id, booking_id),
    CONSTRAINT payment_entry_fkey FOREIGN KEY (tenant_id, entry_id)
        REFERENCES ledger.entry (tenant_id, entry_id),
    CONSTRAINT payment_ref_not_empty CHECK (payment_ref <> ''),
    CONSTRAINT payment_kind_known CHECK (kind IN ('deposit', 'balance')),
    CONSTRAINT payment_amount_positive CHECK (amount > 0),
    CONSTRAINT payment_deposit_always_applied CHECK (applied OR kind = 'balance'),
    CONSTRAINT payment_unapplied_has_reason CHECK (applied OR reason IS NOT NULL),
    CONSTRAINT payment_applied_has_no_reason CHECK (NOT applied OR reason IS NULL),
    CONSTRAINT payment_unapplied_moves_nothing CHECK (applied OR entry_id IS NULL)
);
COMMENT ON TABLE booking.payment IS 'Every deposit and balance payment received; unapplied ones moved no money and are kept for refund.';

CREATE INDEX payment_booking_idx ON booking.payment (tenant_id, booking_id, payment_no);
