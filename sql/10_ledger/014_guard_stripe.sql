-- Stripes hold part of an account's balance (migrations/0006_perf_stripes.sql), so they are
-- guarded like the balance columns of ledger.account: only the posting trigger changes their
-- amounts; a stripe row may be created empty (ledger.expire_holds locks stripes ahead so);
-- no stripe row is ever deleted or moved to another account.
CREATE OR REPLACE FUNCTION ledger._guard_stripe()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM ledger._raise('PB009', format('account stripes are never removed: %s on ledger.account_stripe', TG_OP),
            format('operation=%s table=ledger.account_stripe', TG_OP),
            'Stripes are part of balances; move money with ledger.transfer.');
    END IF;
    -- An empty stripe may be created; an UPDATE that leaves identity and amounts as they are
    -- passes.
    IF TG_OP = 'INSERT' AND NEW.balance = 0 AND NEW.pending_out = 0 AND NEW.pending_in = 0
       OR TG_OP = 'UPDATE'
          AND (OLD.tenant_id, OLD.account_id, OLD.stripe_no, OLD.balance, OLD.pending_out, OLD.pending_in)
              IS NOT DISTINCT FROM (NEW.tenant_id, NEW.account_id, NEW.stripe_no, NEW.balance,
                                    NEW.pending_out, NEW.pending_in) THEN
        RETURN NEW;
    END IF;
    PERFORM ledger._raise('PB009',
        'stripe amounts and identity change only through ledger postings',
        format('account_id=%s stripe_no=%s balance=%s->%s pending_out=%s->%s pending_in=%s->%s',
               NEW.account_id, NEW.stripe_no,
               CASE WHEN TG_OP = 'UPDATE' THEN OLD.balance ELSE 0 END, NEW.balance,
               CASE WHEN TG_OP = 'UPDATE' THEN OLD.pending_out ELSE 0 END, NEW.pending_out,
               CASE WHEN TG_OP = 'UPDATE' THEN OLD.pending_in ELSE 0 END, NEW.pending_in),
        'Move money with ledger.transfer, ledger.post_entry or ledger.hold.');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._guard_stripe() IS
    'Private trigger: raises PB009 when a stripe''s amounts change outside ledger._apply_postings, or a stripe is moved, deleted or truncated.';

-- As the account guard: the posting trigger (depth >= 1, marker set) skips it, its WHEN one
-- call (ledger._outside_posting_trigger). One trigger for INSERT and UPDATE: the posting
-- trigger's stripe upsert fires both, and PostgreSQL prepares each trigger's WHEN once per
-- statement, so a second trigger would prepare it twice (45k instructions a movement). It
-- replaced guard_stripe_insert, dropped here so that the file stays repeatable; an earlier
-- release's sql/ puts that one back.
DROP TRIGGER IF EXISTS guard_stripe_insert ON ledger.account_stripe;
CREATE OR REPLACE TRIGGER guard_stripe_update
    BEFORE INSERT OR UPDATE ON ledger.account_stripe
    FOR EACH ROW
    WHEN (ledger._outside_posting_trigger())
    EXECUTE FUNCTION ledger._guard_stripe();
CREATE OR REPLACE TRIGGER guard_stripe_delete
    BEFORE DELETE ON ledger.account_stripe
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_stripe();
CREATE OR REPLACE TRIGGER guard_stripe_truncate
    BEFORE TRUNCATE ON ledger.account_stripe
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_stripe();
COMMENT ON TRIGGER guard_stripe_update ON ledger.account_stripe IS
    'A stripe starts empty and its amounts change only through the posting trigger (PB009).';
COMMENT ON TRIGGER guard_stripe_delete ON ledger.account_stripe IS 'Stripes are never deleted (PB009).';
COMMENT ON TRIGGER guard_stripe_truncate ON ledger.account_stripe IS 'Stripes are never truncated (PB009).';
