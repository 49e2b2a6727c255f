CREATE OR REPLACE FUNCTION ledger._guard_account_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- An UPDATE that leaves identity and amounts as they are (say, of metadata) passes.
    IF TG_OP = 'UPDATE'
       AND (OLD.tenant_id, OLD.account_id, OLD.code, OLD.currency)
           IS NOT DISTINCT FROM (NEW.tenant_id, NEW.account_id, NEW.code, NEW.currency)
       AND (OLD.balance, OLD.pending_out, OLD.pending_in)
           IS NOT DISTINCT FROM (NEW.balance, NEW.pending_out, NEW.pending_in) THEN
        RETURN NEW;
    END IF;
    PERFORM ledger._raise('PB009',
        'balance, pending and identity columns of an account change only through ledger postings',
        format('account=%s balance=%s->%s pending_out=%s->%s pending_in=%s->%s',
               coalesce(OLD.code, NEW.code), OLD.balance, NEW.balance,
               OLD.pending_out, NEW.pending_out,
               OLD.pending_in, NEW.pending_in),
        'Move money with ledger.transfer, ledger.post_entry or ledger.hold.');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._guard_account_update() IS
    'Private trigger: raises PB009 when an account is inserted with amounts, or its identity or amounts change outside ledger._apply_postings.';

-- The posting trigger (trigger depth >= 1, its marker set) skips the guard; any other UPDATE
-- (the owner's included) goes through it, which refuses a change of identity or amounts. The
-- WHEN is one call (ledger._outside_posting_trigger): PostgreSQL prepares a trigger's WHEN for
-- every statement that fires it, and the posting trigger's UPDATE is in every movement.
CREATE OR REPLACE TRIGGER guard_account_update
    BEFORE UPDATE ON ledger.account
    FOR EACH ROW
    WHEN (ledger._outside_posting_trigger())
    EXECUTE FUNCTION ledger._guard_account_update();
COMMENT ON TRIGGER guard_account_update ON ledger.account IS
    'Balances change only through the posting trigger (PB009).';

-- An account starts at zero: a row inserted with a balance or pending amount would be
-- money no posting accounts for (the owner's INSERT included).
CREATE OR REPLACE TRIGGER guard_account_insert
    BEFORE INSERT ON ledger.account
    FOR EACH ROW
    WHEN (NEW.balance <> 0 OR NEW.pending_out <> 0 OR NEW.pending_in <> 0)
    EXECUTE FUNCTION ledger._guard_account_update();
COMMENT ON TRIGGER guard_account_insert ON ledger.account IS
    'Accounts open at zero; balances come only from postings (PB009).';

-- Postings name their account without a foreign key (ledger._apply_postings checks it), so
-- no account row may ever go away.
CREATE OR REPLACE TRIGGER guard_account_delete
    BEFORE DELETE ON ledger.account
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history('account');
CREATE OR REPLACE TRIGGER guard_account_truncate
    BEFORE TRUNCATE ON ledger.account
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history('account');
COMMENT ON TRIGGER guard_account_delete ON ledger.account IS 'Accounts are never deleted (PB009).';
COMMENT ON TRIGGER guard_account_truncate ON ledger.account IS 'Accounts are never truncated (PB009).';
