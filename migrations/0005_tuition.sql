-- depends: 0001_ledger
-- Tuition: one assessment per student, its installment terms, and the payments that wait
-- for approval as ledger holds. Functions live in sql/50_tuition.
--
-- Money model (per tenant): every currency has a clearing account
-- pgb:tuition:clearing:<CUR> with no floor and no ceiling, the payer side (money that came in
-- from outside); every assessment has a student account pgb:tuition:student:<assessment_id>
-- with floor 0 and ceiling = the total of its terms. A payment is a hold clearing -> student
-- (pending_in on the student account), approve captures it, reject voids it, so the student
-- account's balance is what was paid and its pending_in what awaits approval; its ceiling makes
-- the ledger itself refuse paying more than was assessed.

-- Fail fast rather than queue behind a long transaction while holding locks (see .squawk.toml).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE SCHEMA tuition;
COMMENT ON SCHEMA tuition IS 'pgbalance workflow: installment terms, payments held in the ledger until approved.';

CREATE TABLE tuition.assessment (
    tenant_id     text        NOT NULL,
    assessment_id bigint      GENERATED ALWAYS AS IDENTITY,
    student       text        NOT NULL,
    currency      text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT assessment_pkey PRIMARY KEY (tenant_id, assessment_id),
    CONSTRAINT assessment_student_key UNIQUE (tenant_id, student),
    CONSTRAINT assessment_student_not_empty CHECK (student <> ''),
    CONSTRAINT assessment_currency_format CHECK (currency ~ '^[A-Z]{3}$')
);
COMMENT ON TABLE tuition.assessment IS 'One per student and tenant; its row lock serialises every rule that spans its terms and payments.';

CREATE TABLE tuition.term (
    tenant_id     text   NOT NULL,
    assessment_id bigint NOT NULL,
    -- The contract types term numbers as int; an assessment has a handful of terms.
    -- squawk-ignore prefer-bigint-over-int
    term_no       int    NOT NULL,
    name          text   NOT NULL,
    amount        bigint NOT NULL,
    CONSTRAINT term_pkey PRIMARY KEY (tenant_id, assessment_id, term_no),
    CONSTRAINT term_assessment_fkey FOREIGN KEY (tenant_id, assessment_id)
        REFERENCES tuition.assessment (tenant_id, assessment_id),
    CONSTRAINT term_no_positive CHECK (term_no >= 1),
    CONSTRAINT term_name_not_empty CHECK (name <> ''),
    CONSTRAINT term_amount_positive CHECK (amount > 0)
);
COMMENT ON TABLE tuition.term IS 'Installments of an assessment, paid in term_no order; fixed at creation.';

CREATE TABLE tuition.payment (
    tenant_id     text        NOT NULL,
    payment_id    bigint      GENERATED ALWAYS AS IDENTITY,
    reference     text        NOT NULL,
    assessment_id bigint      NOT NULL,
    -- The contract types term numbers as int; an assessment has a handful of terms.
    -- squawk-ignore prefer-bigint-over-int
    term_no       int         NOT NULL,
    amount        bigint      NOT NULL,
    status        text        NOT NULL DEFAULT 'awaiting_approval',
    -- Set by submit_payment in the transaction that inserts the row.
    hold_entry_id bigint,
    approver      text,
    reason        text,
    submitted_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    decided_at    timestamptz,
    CONSTRAINT payment_pkey PRIMARY KEY (tenant_id, payment_id),
    CONSTRAINT payment_reference_key UNIQUE (tenant_id, reference),
    CONSTRAINT payment_term_fkey FOREIGN KEY (tenant_id, assessment_id, term_no)
        REFERENCES tuition.term (tenant_id, assessment_id, term_no),
    CONSTRAINT payment_hold_fkey FOREIGN KEY (tenant_id, hold_entry_id)
        REFERENCES ledger.entry (tenant_id, entry_id),
    CONSTRAINT payment_reference_not_empty CHECK (reference <> ''),
    CONSTRAINT payment_amount_positive CHECK (amount > 0),
    CONSTRAINT payment_status_known CHECK (status IN ('awaiting_approval', 'paid', 'rejected')),
    CONSTRAINT payment_decided_when_not_awaiting CHECK ((status = 'awaiting_approval') = (decided_at IS NULL))
);
COMMENT ON TABLE tuition.payment IS 'A submitted payment: a ledger hold until approved (captured) or rejected (voided).';

-- Backstop only: submit_payment enforces one awaiting payment per term under the assessment
-- lock (PB008); this index would turn a bug in that rule into a unique violation.
CREATE UNIQUE INDEX payment_one_awaiting_per_term ON tuition.payment (tenant_id, assessment_id, term_no)
    WHERE status = 'awaiting_approval';
-- The accounting queue, oldest first.
CREATE INDEX payment_awaiting_idx ON tuition.payment (tenant_id, submitted_at, payment_id)
    WHERE status = 'awaiting_approval';

CREATE TABLE tuition.allocation (
    tenant_id     text   NOT NULL,
    payment_id    bigint NOT NULL,
    assessment_id bigint NOT NULL,
    -- The contract types term numbers as int; an assessment has a handful of terms.
    -- squawk-ignore prefer-bigint-over-int
    term_no       int    NOT NULL,
    amount        bigint NOT NULL,
    CONSTRAINT allocation_pkey PRIMARY KEY (tenant_id, payment_id, term_no),
    CONSTRAINT allocation_payment_fkey FOREIGN KEY (tenant_id, payment_id)
        REFERENCES tuition.payment (tenant_id, payment_id),
    CONSTRAINT allocation_term_fkey FOREIGN KEY (tenant_id, assessment_id, term_no)
        REFERENCES tuition.term (tenant_id, assessment_id, term_no),
    CONSTRAINT allocation_amount_positive CHECK (amount > 0)
);
COMMENT ON TABLE tuition.allocation IS 'How a payment splits over terms (the chosen term, then carry-over), fixed at submission.';
CREATE INDEX allocation_term_idx ON tuition.allocation (tenant_id, assessment_id, term_no);
