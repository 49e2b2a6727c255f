CREATE OR REPLACE FUNCTION ledger._guard_account_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
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
    'Private trigger: raises PB009 when a balance column changes outside ledger._apply_postings.';

-- The posting trigger runs at trigger depth >= 1 with its marker set; anything else that
-- changes a balance column (the owner's UPDATE included) is refused.
CREATE OR REPLACE TRIGGER guard_account_update
    BEFORE UPDATE ON ledger.account
    FOR EACH ROW
    WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id
          OR OLD.account_id IS DISTINCT FROM NEW.account_id
          OR OLD.code IS DISTINCT FROM NEW.code
          OR OLD.currency IS DISTINCT FROM NEW.currency
          OR ((OLD.balance, OLD.pending_out, OLD.pending_in)
                  IS DISTINCT FROM (NEW.balance, NEW.pending_out, NEW.pending_in)
              AND (pg_trigger_depth() < 1
                   OR current_setting('pgbalance.applying', true) IS DISTINCT FROM 'on')))
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
