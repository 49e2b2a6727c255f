-- pgbalance 0.1.0: its sql/ objects (git commit 1d4ceba), which `pgbalance migrate --to 0.1.0`
-- installs after rolling back the newer migrations. Generated; do not edit (tests/test_release.py).
-- sql/00_roles/roles.sql
-- Roles are cluster-wide: create them once, tolerate a concurrent migrate doing the same.
DO $$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['pgbalance_app', 'pgbalance_auditor'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
END
$$;
-- sql/10_ledger/000_raise.sql
CREATE OR REPLACE FUNCTION ledger._raise(
    p_code text, p_message text, p_detail text DEFAULT NULL, p_hint text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = p_code, MESSAGE = p_message, DETAIL = coalesce(p_detail, '');
    END IF;
    RAISE EXCEPTION USING ERRCODE = p_code, MESSAGE = p_message, DETAIL = coalesce(p_detail, ''),
        HINT = p_hint;
END
$$;
COMMENT ON FUNCTION ledger._raise(text, text, text, text) IS
    'Private: raise a pgbalance error with its SQLSTATE, DETAIL and HINT.';
-- sql/10_ledger/001_check_name.sql
-- Names (tenants, codes, keys, references) are bounded so they always fit a btree entry,
-- and user-supplied ones may not use the prefix reserved for workflow-derived names.
CREATE OR REPLACE FUNCTION ledger._check_name(p_what text, p_value text, p_user boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_value IS NULL OR p_value = '' THEN
        PERFORM ledger._raise('22023', format('%s must be a non-empty string', p_what),
            format('%s=%s', p_what, coalesce(quote_literal(p_value), 'NULL')));
    ELSIF length(p_value) > 200 THEN
        PERFORM ledger._raise('22023', format('%s is longer than 200 characters', p_what),
            format('length=%s', length(p_value)));
    ELSIF p_user AND starts_with(p_value, 'pgb:') THEN
        PERFORM ledger._raise('22023', format('%s may not start with the reserved prefix pgb:', p_what),
            format('%s=%s', p_what, p_value), 'pgb: names are derived by pgbalance workflows.');
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._check_name(text, text, boolean) IS
    'Private: 22023 unless p_value is a non-empty name of at most 200 characters outside the reserved pgb: prefix.';
-- sql/10_ledger/002_check_amount.sql
CREATE OR REPLACE FUNCTION ledger._check_amount(p_what text, p_value bigint, p_nullable boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_value IS NULL AND NOT p_nullable THEN
        PERFORM ledger._raise('22023', format('%s must not be NULL', p_what));
    ELSIF p_value <= 0 THEN
        PERFORM ledger._raise('22023', format('%s must be greater than 0', p_what),
            format('%s=%s', p_what, p_value));
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._check_amount(text, bigint, boolean) IS
    'Private: 22023 unless the amount is a positive bigint (or NULL where allowed).';
-- sql/10_ledger/003_check_reference.sql
-- Workflow-supplied names (wallet users and references, booking ids and payment refs, fees
-- shippers and carriers) end up inside derived kernel names (pgb:wallet:<user>,
-- pgb:booking:pay:<payment_ref>, ...), which the kernel caps at 200 characters: 180 leaves room.
CREATE OR REPLACE FUNCTION ledger._check_reference(p_what text, p_value text)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_name(p_what, p_value, true);
    IF length(p_value) > 180 THEN
        PERFORM ledger._raise('22023', format('%s is longer than 180 characters', p_what),
            format('length=%s', length(p_value)));
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._check_reference(text, text) IS
    'Private: 22023 unless p_value is a non-empty name of at most 180 characters outside the reserved pgb: prefix (room for a workflow''s derived pgb: name).';
-- sql/10_ledger/004_check_currency.sql
-- Currencies are ISO 4217 style codes: three upper-case letters.
CREATE OR REPLACE FUNCTION ledger._check_currency(p_currency text)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_currency IS NULL OR p_currency !~ '^[A-Z]{3}$' THEN
        PERFORM ledger._raise('22023', 'currency must be three upper-case letters',
            format('currency=%s', coalesce(p_currency, 'NULL')), 'Use an ISO 4217 code such as EUR.');
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._check_currency(text) IS
    'Private: 22023 unless p_currency is three upper-case letters.';
-- sql/10_ledger/005_check_definition.sql
-- "Create again" is idempotent: the same definition returns the existing row, a different one
-- is PB003. Callers pass the definitions as text arrays (NULL elements compare equal).
CREATE OR REPLACE FUNCTION ledger._check_definition(
    p_what text, p_name text, p_existing text[], p_requested text[])
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_existing IS DISTINCT FROM p_requested THEN
        PERFORM ledger._raise('PB003', format('%s already exists with a different definition', p_what),
            format('%s=%s existing=(%s) requested=(%s)', p_what, p_name,
                   array_to_string(p_existing, ',', 'NULL'), array_to_string(p_requested, ',', 'NULL')));
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._check_definition(text, text, text[], text[]) IS
    'Private: PB003 unless the existing definition p_existing equals the requested p_requested (the detail shows both).';
-- sql/10_ledger/010_apply_postings.sql
-- The one writer of balance columns. Callers have already locked every account they
-- post to (in account_id order), so the UPDATE never waits and never deadlocks.
-- A striped account (stripes > 0: no floor, no ceiling; migrations/0006_perf_stripes.sql)
-- gets its deltas in one of its `stripes` rows of ledger.account_stripe instead, chosen by
-- the transaction id (one transaction always uses the same stripe, concurrent ones mostly
-- different ones), written last and in account_id order; callers hold only a share lock on
-- a striped account (ledger._apply_legs).
CREATE OR REPLACE FUNCTION ledger._apply_postings()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- The plans are cached per session for the size of the first statement's postings: a session
-- whose first insert had many rows would otherwise keep a hash join over every account for
-- all its later two-leg movements. Index lookups are right for any size here.
SET enable_seqscan = off
AS $$
DECLARE
    v_striped bigint;
BEGIN
    -- Transaction-local marker read by the account guard; reset before returning.
    PERFORM set_config('pgbalance.applying', 'on', true);
    WITH d AS (
        SELECT n.tenant_id, n.account_id,
               coalesce(sum(n.amount) FILTER (WHERE n.kind = 'B'), 0) AS b,
               coalesce(sum(n.amount) FILTER (WHERE n.kind = 'O'), 0) AS o,
               coalesce(sum(n.amount) FILTER (WHERE n.kind = 'I'), 0) AS i
          FROM new_postings AS n
         GROUP BY n.tenant_id, n.account_id
    ), limited AS (
        UPDATE ledger.account AS a
           SET balance     = a.balance + d.b,
               pending_out = a.pending_out + d.o,
               pending_in  = a.pending_in + d.i
          FROM d
         WHERE a.tenant_id = d.tenant_id
           AND a.account_id = d.account_id
           AND a.stripes = 0
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM d) - (SELECT count(*) FROM limited) INTO v_striped;
    IF v_striped > 0 THEN
        INSERT INTO ledger.account_stripe AS s (tenant_id, account_id, stripe_no, balance,
                                                pending_out, pending_in)
        SELECT n.tenant_id, n.account_id, (txid_current() % a.stripes)::smallint,
               coalesce(sum(n.amount) FILTER (WHERE n.kind = 'B'), 0),
               coalesce(sum(n.amount) FILTER (WHERE n.kind = 'O'), 0),
               coalesce(sum(n.amount) FILTER (WHERE n.kind = 'I'), 0)
          FROM new_postings AS n
          JOIN ledger.account AS a ON a.tenant_id = n.tenant_id AND a.account_id = n.account_id
         WHERE a.stripes > 0
         GROUP BY n.tenant_id, n.account_id, a.stripes
         ORDER BY n.account_id
            ON CONFLICT ON CONSTRAINT account_stripe_pkey DO UPDATE
           SET balance     = s.balance + excluded.balance,
               pending_out = s.pending_out + excluded.pending_out,
               pending_in  = s.pending_in + excluded.pending_in;
    END IF;
    PERFORM set_config('pgbalance.applying', '', true);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._apply_postings() IS
    'Private trigger: applies inserted postings to balance, pending_out and pending_in (the only writer); a striped account gets them in one of its stripe rows per transaction.';

CREATE OR REPLACE TRIGGER apply_postings
    AFTER INSERT ON ledger.posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._apply_postings();
COMMENT ON TRIGGER apply_postings ON ledger.posting IS
    'The single authority over balances: every balance change is an inserted posting.';
-- sql/10_ledger/011_guard_history.sql
CREATE OR REPLACE FUNCTION ledger._guard_history()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- A failed item of a non-atomic batch discards the entry row it claimed (it has no
    -- postings: the posting FK refuses the delete otherwise).
    IF TG_TABLE_NAME = 'entry' AND TG_OP = 'DELETE'
       AND current_setting('pgbalance.discarding', true) = 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM ledger._raise('PB009', format('ledger history is immutable: %s on ledger.%s', TG_OP, TG_TABLE_NAME),
        format('operation=%s table=ledger.%s', TG_OP, TG_TABLE_NAME),
        'Correct a movement with ledger.reverse; history is append-only.');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._guard_history() IS
    'Private trigger: raises PB009 on UPDATE/DELETE/TRUNCATE of postings and DELETE/TRUNCATE of entries.';

-- Statement-level so they fire on empty tables and on TRUNCATE too.
CREATE OR REPLACE TRIGGER guard_posting_history
    BEFORE UPDATE OR DELETE ON ledger.posting
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history();
CREATE OR REPLACE TRIGGER guard_posting_truncate
    BEFORE TRUNCATE ON ledger.posting
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history();
CREATE OR REPLACE TRIGGER guard_entry_history
    BEFORE DELETE ON ledger.entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history();
CREATE OR REPLACE TRIGGER guard_entry_truncate
    BEFORE TRUNCATE ON ledger.entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history();
COMMENT ON TRIGGER guard_posting_history ON ledger.posting IS 'Postings are append-only (PB009).';
COMMENT ON TRIGGER guard_posting_truncate ON ledger.posting IS 'Postings are append-only (PB009).';
COMMENT ON TRIGGER guard_entry_history ON ledger.entry IS 'Entries are never deleted (PB009).';
COMMENT ON TRIGGER guard_entry_truncate ON ledger.entry IS 'Entries are never deleted (PB009).';
-- sql/10_ledger/012_guard_entry_update.sql
CREATE OR REPLACE FUNCTION ledger._guard_entry_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._raise('PB009', 'only the status columns of a ledger entry may change',
        format('entry_id=%s', OLD.entry_id),
        'Status changes go through ledger.capture, ledger.void, ledger.reverse and ledger.expire_holds.');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._guard_entry_update() IS
    'Private trigger: raises PB009 when an entry''s identity, parameters or metadata change.';

-- status, amount (a capture fixes the posted amount), reversed_amount and a first link to
-- the reversed entry are the status columns; the WHEN keeps the allowed path free of plpgsql.
CREATE OR REPLACE TRIGGER guard_entry_update
    BEFORE UPDATE ON ledger.entry
    FOR EACH ROW
    WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id
          OR OLD.entry_id IS DISTINCT FROM NEW.entry_id
          OR OLD.idempotency_key IS DISTINCT FROM NEW.idempotency_key
          OR OLD.fingerprint IS DISTINCT FROM NEW.fingerprint
          OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.metadata IS DISTINCT FROM NEW.metadata
          OR OLD.created_at IS DISTINCT FROM NEW.created_at
          OR (OLD.reverses_entry_id IS NOT NULL
              AND OLD.reverses_entry_id IS DISTINCT FROM NEW.reverses_entry_id))
    EXECUTE FUNCTION ledger._guard_entry_update();
COMMENT ON TRIGGER guard_entry_update ON ledger.entry IS 'Only status columns of an entry change (PB009).';
-- sql/10_ledger/013_guard_account_update.sql
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
-- sql/10_ledger/014_guard_stripe.sql
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

CREATE OR REPLACE TRIGGER guard_stripe_insert
    BEFORE INSERT ON ledger.account_stripe
    FOR EACH ROW
    WHEN ((NEW.balance <> 0 OR NEW.pending_out <> 0 OR NEW.pending_in <> 0)
          AND (pg_trigger_depth() < 1
               OR current_setting('pgbalance.applying', true) IS DISTINCT FROM 'on'))
    EXECUTE FUNCTION ledger._guard_stripe();
CREATE OR REPLACE TRIGGER guard_stripe_update
    BEFORE UPDATE ON ledger.account_stripe
    FOR EACH ROW
    WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id
          OR OLD.account_id IS DISTINCT FROM NEW.account_id
          OR OLD.stripe_no IS DISTINCT FROM NEW.stripe_no
          OR ((OLD.balance, OLD.pending_out, OLD.pending_in)
                  IS DISTINCT FROM (NEW.balance, NEW.pending_out, NEW.pending_in)
              AND (pg_trigger_depth() < 1
                   OR current_setting('pgbalance.applying', true) IS DISTINCT FROM 'on')))
    EXECUTE FUNCTION ledger._guard_stripe();
CREATE OR REPLACE TRIGGER guard_stripe_delete
    BEFORE DELETE ON ledger.account_stripe
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_stripe();
CREATE OR REPLACE TRIGGER guard_stripe_truncate
    BEFORE TRUNCATE ON ledger.account_stripe
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_stripe();
COMMENT ON TRIGGER guard_stripe_insert ON ledger.account_stripe IS
    'A stripe starts empty; amounts come only from postings (PB009).';
COMMENT ON TRIGGER guard_stripe_update ON ledger.account_stripe IS
    'Stripe amounts change only through the posting trigger (PB009).';
COMMENT ON TRIGGER guard_stripe_delete ON ledger.account_stripe IS 'Stripes are never deleted (PB009).';
COMMENT ON TRIGGER guard_stripe_truncate ON ledger.account_stripe IS 'Stripes are never truncated (PB009).';
-- sql/10_ledger/020_account_out.sql
-- The one place that shapes an account row for callers. An account's amounts are its row
-- plus its stripes (ledger.account_stripe; only striped accounts have any), summed here.
CREATE OR REPLACE FUNCTION ledger._account_out(p_tenant text, p_code text)
RETURNS TABLE (tenant text, code text, currency text, balance bigint, pending_out bigint,
               pending_in bigint, available bigint, min_balance bigint, max_balance bigint,
               closed boolean)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.tenant_id, a.code, a.currency, a.balance + s.b, a.pending_out + s.o,
           a.pending_in + s.i, a.balance + s.b - a.pending_out - s.o, a.min_balance,
           a.max_balance, a.closed_at IS NOT NULL
      FROM ledger.account AS a
     CROSS JOIN LATERAL (
           SELECT coalesce(sum(x.balance), 0)::bigint AS b,
                  coalesce(sum(x.pending_out), 0)::bigint AS o,
                  coalesce(sum(x.pending_in), 0)::bigint AS i
             FROM ledger.account_stripe AS x
            WHERE x.tenant_id = a.tenant_id AND x.account_id = a.account_id) AS s
     WHERE a.tenant_id = p_tenant AND a.code = p_code
$$;
COMMENT ON FUNCTION ledger._account_out(text, text) IS 'Private: the account row as the API returns it (stripes summed in).';
-- sql/10_ledger/030_open_account_private.sql
-- Workflows open their accounts through this with pgb: codes; ledger.open_account adds
-- the reserved-prefix check for users.
CREATE OR REPLACE FUNCTION ledger._open_account(
    p_tenant text, p_code text, p_currency text, p_min_balance bigint, p_max_balance bigint,
    p_metadata jsonb)
RETURNS TABLE (tenant text, code text, currency text, balance bigint, pending_out bigint,
               pending_in bigint, available bigint, min_balance bigint, max_balance bigint,
               closed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_existing ledger.account;
    v_id bigint;
BEGIN
    PERFORM ledger._check_currency(p_currency);
    IF p_min_balance > 0 THEN
        PERFORM ledger._raise('22023', 'min_balance must be <= 0 (NULL for no floor)',
            format('min_balance=%s', p_min_balance));
    END IF;
    IF p_max_balance < 0 THEN
        PERFORM ledger._raise('22023', 'max_balance must be >= 0 (NULL for no ceiling)',
            format('max_balance=%s', p_max_balance));
    END IF;
    IF p_metadata IS NOT NULL AND jsonb_typeof(p_metadata) <> 'object' THEN
        PERFORM ledger._raise('22023', 'metadata must be a JSON object',
            format('metadata=%s', left(p_metadata::text, 100)));
    END IF;

    INSERT INTO ledger.account AS a (tenant_id, code, currency, min_balance, max_balance, metadata)
    VALUES (p_tenant, p_code, p_currency, p_min_balance, p_max_balance, coalesce(p_metadata, '{}'))
    ON CONFLICT ON CONSTRAINT account_code_key DO NOTHING
    RETURNING a.account_id INTO v_id;

    IF v_id IS NULL THEN
        -- A separate statement: a fresh snapshot sees the row a concurrent opener committed.
        SELECT * INTO v_existing FROM ledger.account AS a
         WHERE a.tenant_id = p_tenant AND a.code = p_code;
        PERFORM ledger._check_definition('account', p_code,
            ARRAY[v_existing.currency, v_existing.min_balance::text, v_existing.max_balance::text],
            ARRAY[p_currency, p_min_balance::text, p_max_balance::text]);
    END IF;
    RETURN QUERY SELECT * FROM ledger._account_out(p_tenant, p_code);
END
$$;
COMMENT ON FUNCTION ledger._open_account(text, text, text, bigint, bigint, jsonb) IS
    'Private: open_account without the reserved-prefix check, for workflows.';
-- sql/10_ledger/031_open_account.sql
CREATE OR REPLACE FUNCTION ledger.open_account(
    p_tenant text, p_code text, p_currency text,
    p_min_balance bigint DEFAULT 0, p_max_balance bigint DEFAULT NULL,
    p_metadata jsonb DEFAULT '{}')
RETURNS TABLE (tenant text, code text, currency text, balance bigint, pending_out bigint,
               pending_in bigint, available bigint, min_balance bigint, max_balance bigint,
               closed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('code', p_code);
    RETURN QUERY SELECT * FROM ledger._open_account(p_tenant, p_code, p_currency, p_min_balance,
        p_max_balance, p_metadata);
END
$$;
COMMENT ON FUNCTION ledger.open_account(text, text, text, bigint, bigint, jsonb) IS
    'Open an account with a floor (min_balance, default 0, NULL = none) and a ceiling (max_balance, NULL = none). Opening the same code again with the same definition returns it; a different definition raises PB003.';
-- sql/10_ledger/032_get_account.sql
CREATE OR REPLACE FUNCTION ledger.get_account(p_tenant text, p_code text)
RETURNS TABLE (tenant text, code text, currency text, balance bigint, pending_out bigint,
               pending_in bigint, available bigint, min_balance bigint, max_balance bigint,
               closed boolean)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('code', p_code, false);
    RETURN QUERY SELECT * FROM ledger._account_out(p_tenant, p_code);
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'account not found', format('account=%s', p_code));
    END IF;
END
$$;
COMMENT ON FUNCTION ledger.get_account(text, text) IS
    'The account with its balance, pending columns and available = balance - pending_out; PB005 if unknown in this tenant.';
-- sql/10_ledger/033_close_account.sql
CREATE OR REPLACE FUNCTION ledger.close_account(p_tenant text, p_code text)
RETURNS TABLE (tenant text, code text, currency text, balance bigint, pending_out bigint,
               pending_in bigint, available bigint, min_balance bigint, max_balance bigint,
               closed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_account ledger.account;
    v_out record;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('code', p_code);
    -- FOR UPDATE: it also waits for movements into a striped account, which hold only a
    -- FOR KEY SHARE lock on it (ledger._apply_legs) and keep their amounts in its stripes.
    SELECT * INTO v_account FROM ledger.account AS a
     WHERE a.tenant_id = p_tenant AND a.code = p_code
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'account not found', format('account=%s', p_code));
    END IF;
    IF v_account.closed_at IS NULL THEN
        -- A new statement, so a new snapshot: it sees every movement the lock waited for.
        SELECT * INTO v_out FROM ledger._account_out(p_tenant, p_code);
        IF v_out.balance <> 0 OR v_out.pending_out <> 0 OR v_out.pending_in <> 0 THEN
            PERFORM ledger._raise('PB004', 'only an account with balance 0 and nothing pending can be closed',
                format('account=%s balance=%s pending_out=%s pending_in=%s', p_code,
                       v_out.balance, v_out.pending_out, v_out.pending_in),
                'Move the balance out and settle or void pending holds first.');
        END IF;
        UPDATE ledger.account AS a SET closed_at = clock_timestamp()
         WHERE a.tenant_id = p_tenant AND a.account_id = v_account.account_id;
    END IF;
    RETURN QUERY SELECT * FROM ledger._account_out(p_tenant, p_code);
END
$$;
COMMENT ON FUNCTION ledger.close_account(text, text) IS
    'Close an account whose balance is 0 with nothing pending (else PB004); closing again returns it unchanged. Movements touching a closed account raise PB007.';
-- sql/10_ledger/034_set_account_stripes.sql
-- Hot accounts (docs/performance.md): spread an account's amounts over p_stripes rows so that
-- concurrent movements into it do not queue behind its one row lock. Only for an account with
-- no floor and no ceiling (nothing is checked against it). One-way: a striped account stays
-- striped (p_stripes may change, never back to 0), so a movement never sees it switch back to
-- a locked row between its statements. The price: overlapping movements into a striped
-- account are not serialised, so its statement lists them in the order they took their locks,
-- which can differ from the order they committed. Workflow accounts (pgb: codes) may be
-- striped too: striping moves no money.
CREATE OR REPLACE FUNCTION ledger.set_account_stripes(p_tenant text, p_code text, p_stripes integer)
RETURNS TABLE (tenant text, code text, currency text, balance bigint, pending_out bigint,
               pending_in bigint, available bigint, min_balance bigint, max_balance bigint,
               closed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_account ledger.account;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('code', p_code, false);
    IF p_stripes IS NULL OR p_stripes NOT BETWEEN 1 AND 64 THEN
        PERFORM ledger._raise('22023', 'stripes must be between 1 and 64',
            format('stripes=%s', coalesce(p_stripes::text, 'NULL')),
            'Striping is one-way: a striped account stays striped.');
    END IF;
    -- FOR UPDATE waits for every movement holding the account, striped or not.
    SELECT * INTO v_account FROM ledger.account AS a
     WHERE a.tenant_id = p_tenant AND a.code = p_code
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'account not found', format('account=%s', p_code));
    END IF;
    IF v_account.min_balance IS NOT NULL OR v_account.max_balance IS NOT NULL THEN
        PERFORM ledger._raise('PB004', 'only an account with no floor and no ceiling can be striped',
            format('account=%s min_balance=%s max_balance=%s', p_code,
                   coalesce(v_account.min_balance::text, 'NULL'),
                   coalesce(v_account.max_balance::text, 'NULL')),
            'Limits are checked against the account''s one locked row.');
    END IF;
    IF v_account.stripes <> p_stripes THEN
        UPDATE ledger.account AS a SET stripes = p_stripes
         WHERE a.tenant_id = p_tenant AND a.account_id = v_account.account_id;
    END IF;
    RETURN QUERY SELECT * FROM ledger._account_out(p_tenant, p_code);
END
$$;
COMMENT ON FUNCTION ledger.set_account_stripes(text, text, integer) IS
    'Spread a hot account''s amounts over p_stripes (1..64) rows so concurrent movements into it do not queue; only for an account with no floor and no ceiling (else PB004). One-way. Overlapping movements into a striped account are listed by its statement in lock order, not necessarily commit order. Returns the account.';
-- sql/10_ledger/040_replay.sql
-- Called after a key claim found the key taken. A separate statement from the claim, so
-- under READ COMMITTED it sees the winner's committed entry.
CREATE OR REPLACE FUNCTION ledger._replay(p_tenant text, p_key text, p_fingerprint uuid)
RETURNS TABLE (entry_id bigint, status text, replayed boolean)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_entry ledger.entry;
BEGIN
    SELECT * INTO v_entry FROM ledger.entry AS e
     WHERE e.tenant_id = p_tenant AND md5(e.idempotency_key)::uuid = md5(p_key)::uuid
       AND e.idempotency_key = p_key;
    IF v_entry.fingerprint IS DISTINCT FROM p_fingerprint THEN
        PERFORM ledger._raise('PB003', 'idempotency key reused with different parameters',
            format('key=%s entry_id=%s', p_key, v_entry.entry_id),
            'Use a new key for a new movement; retry with exactly the same parameters.');
    END IF;
    RETURN QUERY SELECT v_entry.entry_id, v_entry.status, true;
END
$$;
COMMENT ON FUNCTION ledger._replay(text, text, uuid) IS
    'Private: the entry already holding this key, replayed, or PB003 when its parameters differ.';
-- sql/10_ledger/041_apply_legs.sql
-- Locks the accounts of a new movement in account_id order, checks them in the contract's
-- order (PB005, PB006, PB007, PB001/PB002) and inserts the postings. The entry row exists.
-- One global lock order for every movement: its accounts that are not striped FOR NO KEY
-- UPDATE by account_id; then its striped accounts (no floor, no ceiling, stripes > 0:
-- ledger.set_account_stripes) FOR KEY SHARE by account_id. Nothing is checked against those,
-- so the share lock (it keeps ledger.close_account, FOR UPDATE, out) is all they need and
-- concurrent movements into one hot account do not queue; their deltas go to a stripe row,
-- locked last, in account_id order, by the posting trigger. Each pass also reads the rows.
CREATE OR REPLACE FUNCTION ledger._apply_legs(
    p_tenant text, p_entry_id bigint, p_codes text[], p_amounts bigint[],
    p_pending boolean, p_one_currency boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- A custom plan per call (for the array sizes) costs more than it saves.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    r ledger.account;
    v_rows ledger.account[];
    v_n int := cardinality(p_codes);
    v_ids bigint[] := array_fill(NULL::bigint, ARRAY[cardinality(p_codes)]);
    v_found int := 0;
    v_pos int;
    v_amount bigint;
    v_closed_pos int;
    v_limit_pos int;
    v_total record;
    v_currency text;
    v_mixed boolean := false;
    v_limit_code text;
    v_limit_message text;
    v_limit_detail text;
    v_now timestamptz;
BEGIN
    -- Locked rows come back as they are now.
    SELECT array_agg(l.a) INTO v_rows
      FROM (SELECT a FROM ledger.account AS a
             WHERE a.tenant_id = p_tenant AND a.code = ANY (p_codes) AND a.stripes = 0
             ORDER BY a.account_id
               FOR NO KEY UPDATE) AS l;
    -- Some account is striped or unknown: a second pass, a new statement (so it also sees an
    -- account striped by a ledger.set_account_stripes that committed while the first waited).
    IF coalesce(cardinality(v_rows), 0) < v_n THEN
        v_rows := coalesce(v_rows, '{}') || ARRAY(
            SELECT l.a
              FROM (SELECT a FROM ledger.account AS a
                     WHERE a.tenant_id = p_tenant AND a.code = ANY (p_codes) AND a.stripes > 0
                     ORDER BY a.account_id
                       FOR KEY SHARE) AS l);
    END IF;

    -- Errors name the first offending leg (legs order).
    FOREACH r IN ARRAY v_rows LOOP
        v_pos := array_position(p_codes, r.code);
        v_ids[v_pos] := r.account_id;
        v_found := v_found + 1;
        IF v_currency IS NULL THEN
            v_currency := r.currency;
        ELSIF v_currency <> r.currency THEN
            v_mixed := true;
        END IF;
        IF r.closed_at IS NOT NULL AND (v_closed_pos IS NULL OR v_pos < v_closed_pos) THEN
            v_closed_pos := v_pos;
        END IF;
        CONTINUE WHEN v_limit_pos < v_pos;
        v_amount := p_amounts[v_pos];
        -- Striped: nothing to check but that the total (the row plus the stripes) stays within
        -- a bigint, which only a huge amount can break; that one reads the stripes.
        CONTINUE WHEN r.stripes > 0 AND abs(v_amount) < 4503599627370496;
        IF r.min_balance IS NULL AND r.max_balance IS NULL AND abs(v_amount) >= 4503599627370496 THEN
            SELECT o.balance, o.pending_out, o.pending_in INTO v_total
              FROM ledger._account_out(p_tenant, r.code) AS o;
            r.balance := v_total.balance;
            r.pending_out := v_total.pending_out;
            r.pending_in := v_total.pending_in;
        END IF;
        -- numeric: a huge amount is a limit error, never a bigint overflow. Without a floor
        -- or a ceiling, what a bigint holds is the limit (balance, available, pending).
        IF v_amount < 0 AND r.balance::numeric - r.pending_out + v_amount
                            < coalesce(r.min_balance, -9223372036854775808)
           OR p_pending AND v_amount < 0 AND r.pending_out::numeric - v_amount > 9223372036854775807 THEN
            v_limit_pos := v_pos;
            v_limit_code := 'PB001';
            v_limit_message := format('insufficient funds in account %s', r.code);
            v_limit_detail := format('account=%s available=%s requested=%s pending=%s min_balance=%s',
                r.code, r.balance - r.pending_out, -v_amount::numeric, r.pending_out,
                coalesce(r.min_balance::text, '-9223372036854775808'));
        ELSIF v_amount > 0 AND r.balance::numeric + r.pending_in + v_amount
                               > coalesce(r.max_balance, 9223372036854775807)
           OR p_pending AND v_amount > 0 AND r.pending_in::numeric + v_amount > 9223372036854775807 THEN
            v_limit_pos := v_pos;
            v_limit_code := 'PB002';
            v_limit_message := format('account %s would exceed its maximum balance', r.code);
            v_limit_detail := format('account=%s balance=%s pending_in=%s requested=%s max_balance=%s',
                r.code, r.balance, r.pending_in, v_amount,
                coalesce(r.max_balance::text, '9223372036854775807'));
        END IF;
    END LOOP;

    IF v_found < v_n THEN
        PERFORM ledger._raise('PB005', 'account not found',
            format('account=%s', p_codes[array_position(v_ids, NULL)]),
            'Open it first with ledger.open_account.');
    END IF;
    -- Mixed currencies that balance per currency (post_entry, reversals) were checked by
    -- ledger._post before the key claim; single-currency movements refuse them here.
    IF v_mixed AND p_one_currency THEN
        PERFORM ledger._raise('PB006', 'accounts of different currencies in one movement',
            format('accounts=%s', array_to_string(p_codes, ',')));
    END IF;
    IF v_closed_pos IS NOT NULL THEN
        PERFORM ledger._raise('PB007', 'account is closed', format('account=%s', p_codes[v_closed_pos]));
    END IF;
    IF v_limit_code IS NOT NULL THEN
        PERFORM ledger._raise(v_limit_code, v_limit_message, v_limit_detail);
    END IF;

    -- Taken under the locks, so posted_at orders an account's postings as they took effect.
    v_now := clock_timestamp();
    INSERT INTO ledger.posting (tenant_id, entry_id, posting_no, account_id, kind, amount, posted_at)
    SELECT p_tenant, p_entry_id, u.ord, v_ids[u.ord],
           CASE WHEN NOT p_pending THEN 'B' WHEN u.amount < 0 THEN 'O' ELSE 'I' END,
           CASE WHEN p_pending THEN abs(u.amount) ELSE u.amount END,
           v_now
      FROM unnest(p_amounts) WITH ORDINALITY AS u(amount, ord);
END
$$;
COMMENT ON FUNCTION ledger._apply_legs(text, bigint, text[], bigint[], boolean, boolean) IS
    'Private: lock, check and post the legs of a new entry (pending legs raise pending_out/pending_in).';
-- sql/10_ledger/042_post.sql
-- The shared path of transfer, post_entry and hold: validate, claim the key, apply the legs.
-- p_user: names come from a caller outside pgbalance and may not use the pgb: prefix.
CREATE OR REPLACE FUNCTION ledger._post(
    p_tenant text, p_key text, p_codes text[], p_amounts bigint[], p_metadata jsonb,
    p_pending boolean, p_expires_at timestamptz, p_one_currency boolean, p_user boolean)
RETURNS TABLE (entry_id bigint, status text, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_n int := coalesce(cardinality(p_codes), 0);
    v_sum numeric := 0;
    v_positive numeric := 0;
    v_fingerprint uuid;
    v_repeated boolean;
    v_unbalanced text;
    v_entry_id bigint;
    v_status text := CASE WHEN p_pending THEN 'pending' ELSE 'posted' END;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('key', p_key, p_user);
    IF v_n < 2 OR v_n <> coalesce(cardinality(p_amounts), 0) THEN
        PERFORM ledger._raise('22023', 'a movement needs at least two legs', format('legs=%s', v_n));
    END IF;
    -- A hold's postings, their release and the capture number 3 x legs (posting_no is smallint).
    IF v_n > 1000 THEN
        PERFORM ledger._raise('22023', 'a movement has at most 1000 legs', format('legs=%s', v_n));
    END IF;
    FOR i IN 1 .. v_n LOOP
        PERFORM ledger._check_name('account', p_codes[i], p_user);
        IF p_amounts[i] IS NULL OR p_amounts[i] = 0 THEN
            PERFORM ledger._raise('22023', 'every leg needs a non-zero amount',
                format('account=%s amount=%s', p_codes[i], coalesce(p_amounts[i]::text, 'NULL')));
        END IF;
        v_sum := v_sum + p_amounts[i];
        IF p_amounts[i] > 0 THEN
            v_positive := v_positive + p_amounts[i];
        END IF;
    END LOOP;
    -- Two legs compare directly: a subquery would send the whole condition to the executor.
    IF v_n = 2 THEN
        v_repeated := p_codes[1] = p_codes[2];
    ELSE
        v_repeated := (SELECT count(DISTINCT c) FROM unnest(p_codes) AS c) <> v_n;
    END IF;
    IF v_repeated THEN
        PERFORM ledger._raise('22023', 'the same account appears twice in one movement',
            format('accounts=%s', array_to_string(p_codes, ',')));
    END IF;
    IF v_sum <> 0 THEN
        PERFORM ledger._raise('22023', 'legs must sum to 0', format('sum=%s', v_sum));
    END IF;
    IF v_positive > 9223372036854775807 THEN
        PERFORM ledger._raise('22023', 'the movement is larger than a bigint can hold',
            format('amount=%s', v_positive));
    END IF;
    IF p_metadata IS NOT NULL AND jsonb_typeof(p_metadata) <> 'object' THEN
        PERFORM ledger._raise('22023', 'metadata must be a JSON object',
            format('metadata=%s', left(p_metadata::text, 100)));
    END IF;

    -- Legs that do not sum to 0 per currency are malformed input (22023), decided before the
    -- key is claimed (check order). Currencies never change, so reading them unlocked is
    -- safe; with an unknown account the call goes on to PB005. Single-currency movements
    -- (transfer, hold) skip this: mixed currencies are PB006 for them (ledger._apply_legs).
    IF NOT p_one_currency THEN
        WITH l AS (
            SELECT a.currency, u.amount
              FROM unnest(p_codes, p_amounts) AS u(code, amount)
              LEFT JOIN ledger.account AS a ON a.tenant_id = p_tenant AND a.code = u.code)
        SELECT format('currency=%s sum=%s', c.currency, c.total) INTO v_unbalanced
          FROM (SELECT l.currency, sum(l.amount) AS total FROM l GROUP BY l.currency) AS c
         WHERE c.total <> 0 AND NOT EXISTS (SELECT FROM l WHERE l.currency IS NULL)
         ORDER BY c.currency
         LIMIT 1;
        IF v_unbalanced IS NOT NULL THEN
            PERFORM ledger._raise('22023', 'legs must sum to 0 in each currency', v_unbalanced);
        END IF;
    END IF;

    -- Order-insensitive: the same legs in another order are the same movement.
    -- Two legs (transfers, holds) skip the subquery; the text hashed is the same.
    IF v_n = 2 THEN
        v_fingerprint := md5(jsonb_build_array(
            CASE WHEN p_codes[1] < p_codes[2]
                 THEN jsonb_build_array(jsonb_build_array(p_codes[1], p_amounts[1]),
                                        jsonb_build_array(p_codes[2], p_amounts[2]))
                 ELSE jsonb_build_array(jsonb_build_array(p_codes[2], p_amounts[2]),
                                        jsonb_build_array(p_codes[1], p_amounts[1])) END,
            p_pending, extract(epoch FROM p_expires_at))::text)::uuid;
    ELSE
        v_fingerprint := md5(jsonb_build_array(
            (SELECT jsonb_agg(jsonb_build_array(u.c, u.a) ORDER BY u.c)
               FROM unnest(p_codes, p_amounts) AS u(c, a)),
            p_pending, extract(epoch FROM p_expires_at))::text)::uuid;
    END IF;

    INSERT INTO ledger.entry AS e (tenant_id, idempotency_key, fingerprint, status, amount,
                                   expires_at, metadata)
    VALUES (p_tenant, p_key, v_fingerprint, v_status, v_positive::bigint, p_expires_at,
            coalesce(p_metadata, '{}'))
    ON CONFLICT (tenant_id, (md5(idempotency_key)::uuid)) DO NOTHING
    RETURNING e.entry_id INTO v_entry_id;
    IF v_entry_id IS NULL THEN
        RETURN QUERY SELECT * FROM ledger._replay(p_tenant, p_key, v_fingerprint);
        RETURN;
    END IF;

    PERFORM ledger._apply_legs(p_tenant, v_entry_id, p_codes, p_amounts, p_pending, p_one_currency);
    -- The OUT columns and RETURN NEXT: no query for the result row.
    entry_id := v_entry_id;
    status := v_status;
    replayed := false;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION ledger._post(text, text, text[], bigint[], jsonb, boolean, timestamptz, boolean, boolean) IS
    'Private: validate, claim the idempotency key and post (or hold) the legs of a new entry; workflows call it with p_user = false.';
-- sql/10_ledger/043_transfer.sql
CREATE OR REPLACE FUNCTION ledger.transfer(
    p_tenant text, p_key text, p_from text, p_to text, p_amount bigint,
    p_metadata jsonb DEFAULT '{}')
RETURNS TABLE (entry_id bigint, status text, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_amount IS NULL OR p_amount <= 0 THEN  -- the helper raises the error
        PERFORM ledger._check_amount('amount', p_amount);
    END IF;
    RETURN QUERY SELECT * FROM ledger._post(p_tenant, p_key, ARRAY[p_from, p_to],
        ARRAY[-p_amount, p_amount], p_metadata, false, NULL, true, true);
END
$$;
COMMENT ON FUNCTION ledger.transfer(text, text, text, text, bigint, jsonb) IS
    'Move p_amount (minor units, > 0) from p_from to p_to in one currency, idempotent by p_key. PB001 below the floor, PB002 above the ceiling, PB005 unknown account, PB006 currency mismatch, PB007 closed account, PB003 key reused with other parameters.';
-- sql/10_ledger/044_post_entry.sql
CREATE OR REPLACE FUNCTION ledger.post_entry(
    p_tenant text, p_key text, p_legs jsonb, p_metadata jsonb DEFAULT '{}',
    p_pending boolean DEFAULT false, p_expires_at timestamptz DEFAULT NULL)
RETURNS TABLE (entry_id bigint, status text, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_codes text[];
    v_amounts bigint[];
    v_bad jsonb;
BEGIN
    IF p_legs IS NULL OR jsonb_typeof(p_legs) <> 'array' THEN
        PERFORM ledger._raise('22023', 'p_legs must be a JSON array of {"account", "amount"} objects',
            format('legs=%s', left(coalesce(p_legs::text, 'NULL'), 100)));
    END IF;
    SELECT l INTO v_bad FROM jsonb_array_elements(p_legs) AS l
     WHERE jsonb_typeof(l) <> 'object'
        OR jsonb_typeof(l -> 'account') IS DISTINCT FROM 'string'
        OR jsonb_typeof(l -> 'amount') IS DISTINCT FROM 'number'
        OR (l ->> 'amount') !~ '^-?[0-9]+$'
        OR (l ->> 'amount')::numeric NOT BETWEEN -9223372036854775807 AND 9223372036854775807
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger._raise('22023', 'each leg must be {"account": text, "amount": integer}',
            format('leg=%s', left(v_bad::text, 100)));
    END IF;
    SELECT array_agg(l ->> 'account' ORDER BY o), array_agg((l ->> 'amount')::bigint ORDER BY o)
      INTO v_codes, v_amounts
      FROM jsonb_array_elements(p_legs) WITH ORDINALITY AS x(l, o);
    RETURN QUERY SELECT * FROM ledger._post(p_tenant, p_key, v_codes, v_amounts, p_metadata,
        coalesce(p_pending, false), p_expires_at, false, true);
END
$$;
COMMENT ON FUNCTION ledger.post_entry(text, text, jsonb, jsonb, boolean, timestamptz) IS
    'Post a multi-leg entry: p_legs = [{"account": code, "amount": signed bigint}, ...], at least two, non-zero, summing to 0 per currency. p_pending = true holds it instead (capture or void later). Idempotent by p_key.';
-- sql/10_ledger/045_hold.sql
CREATE OR REPLACE FUNCTION ledger.hold(
    p_tenant text, p_key text, p_from text, p_to text, p_amount bigint,
    p_expires_at timestamptz DEFAULT NULL, p_metadata jsonb DEFAULT '{}')
RETURNS TABLE (entry_id bigint, status text, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_amount('amount', p_amount);
    RETURN QUERY SELECT * FROM ledger._post(p_tenant, p_key, ARRAY[p_from, p_to],
        ARRAY[-p_amount, p_amount], p_metadata, true, p_expires_at, true, true);
END
$$;
COMMENT ON FUNCTION ledger.hold(text, text, text, text, bigint, timestamptz, jsonb) IS
    'Reserve p_amount from p_from for p_to: raises p_from.pending_out and p_to.pending_in (status pending) until ledger.capture, ledger.void or expiry. Idempotent by p_key.';
-- sql/10_ledger/050_release_hold.sql
-- Inserts the postings that end a hold: pending columns back down, and with p_capture the
-- posted movement (the whole hold, or p_capture of a two-leg hold). Accounts are locked.
CREATE OR REPLACE FUNCTION ledger._release_hold(p_tenant text, p_entry_id bigint, p_capture bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now timestamptz := clock_timestamp();
BEGIN
    WITH held AS (
        SELECT p.account_id, p.kind, p.amount, p.posting_no,
               count(*) OVER () AS legs,
               max(p.posting_no) OVER () AS last_no
          FROM ledger.posting AS p
         WHERE p.tenant_id = p_tenant AND p.entry_id = p_entry_id
           AND p.kind <> 'B' AND p.amount > 0
    ), moves AS (
        SELECT h.account_id, h.kind, -h.amount AS amount, h.posting_no, h.last_no FROM held AS h
        UNION ALL
        SELECT h.account_id, 'B',
               CASE WHEN h.legs = 2 THEN p_capture ELSE h.amount END
                   * CASE WHEN h.kind = 'O' THEN -1 ELSE 1 END,
               h.posting_no + h.legs, h.last_no
          FROM held AS h
         WHERE p_capture IS NOT NULL
    )
    INSERT INTO ledger.posting (tenant_id, entry_id, posting_no, account_id, kind, amount, posted_at)
    SELECT p_tenant, p_entry_id, m.last_no + row_number() OVER (ORDER BY m.posting_no),
           m.account_id, m.kind, m.amount, v_now
      FROM moves AS m;
END
$$;
COMMENT ON FUNCTION ledger._release_hold(text, bigint, bigint) IS
    'Private: release a pending hold''s reservations and, when p_capture is given, post the captured movement.';
-- sql/10_ledger/051_lock_entry.sql
-- Locks an entry (the object row, taken before its accounts) and the accounts it touches,
-- in account_id order.
CREATE OR REPLACE FUNCTION ledger._lock_entry(p_tenant text, p_entry_id bigint)
RETURNS ledger.entry
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_entry ledger.entry;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    IF p_entry_id IS NULL THEN
        PERFORM ledger._raise('22023', 'entry_id must not be NULL');
    END IF;
    SELECT * INTO v_entry FROM ledger.entry AS e
     WHERE e.tenant_id = p_tenant AND e.entry_id = p_entry_id
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'entry not found', format('entry_id=%s', p_entry_id));
    END IF;
    PERFORM FROM ledger.account AS a
     WHERE a.tenant_id = p_tenant
       AND a.account_id IN (SELECT p.account_id FROM ledger.posting AS p
                             WHERE p.tenant_id = p_tenant AND p.entry_id = p_entry_id)
     ORDER BY a.account_id
       FOR NO KEY UPDATE;
    RETURN v_entry;
END
$$;
COMMENT ON FUNCTION ledger._lock_entry(text, bigint) IS
    'Private: lock an entry (PB005 if unknown in the tenant) and then its accounts in global order.';
-- sql/10_ledger/052_capture.sql
CREATE OR REPLACE FUNCTION ledger.capture(p_tenant text, p_entry_id bigint, p_amount bigint DEFAULT NULL)
RETURNS TABLE (entry_id bigint, status text, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_entry ledger.entry;
    v_legs int;
BEGIN
    PERFORM ledger._check_amount('amount', p_amount, true);
    v_entry := ledger._lock_entry(p_tenant, p_entry_id);
    SELECT count(*) INTO v_legs FROM ledger.posting AS p
     WHERE p.tenant_id = p_tenant AND p.entry_id = p_entry_id AND p.kind <> 'B' AND p.amount > 0;
    IF v_legs = 0 THEN
        PERFORM ledger._raise('PB004', 'entry is not a hold', format('entry_id=%s status=%s', p_entry_id, v_entry.status));
    END IF;
    IF v_entry.status IN ('posted', 'reversed') THEN
        IF p_amount IS NULL OR p_amount = v_entry.amount THEN
            RETURN QUERY SELECT v_entry.entry_id, v_entry.status, true;
            RETURN;
        END IF;
        PERFORM ledger._raise('PB003', 'hold already captured with a different amount',
            format('entry_id=%s captured=%s requested=%s', p_entry_id, v_entry.amount, p_amount));
    END IF;
    IF v_entry.status = 'voided' THEN
        PERFORM ledger._raise('PB004', 'a voided hold cannot be captured', format('entry_id=%s', p_entry_id));
    END IF;
    IF v_entry.expires_at <= clock_timestamp() THEN
        PERFORM ledger._raise('PB004', 'the hold has expired',
            format('entry_id=%s expires_at=%s', p_entry_id, v_entry.expires_at),
            'An expired hold can only be voided (ledger.void or ledger.expire_holds).');
    END IF;
    IF p_amount > v_entry.amount THEN
        PERFORM ledger._raise('PB002', 'capture exceeds the held amount',
            format('entry_id=%s held=%s requested=%s', p_entry_id, v_entry.amount, p_amount));
    END IF;
    IF p_amount < v_entry.amount AND v_legs <> 2 THEN
        PERFORM ledger._raise('22023', 'partial capture is only possible for two-leg holds',
            format('entry_id=%s legs=%s held=%s requested=%s', p_entry_id, v_legs, v_entry.amount, p_amount));
    END IF;

    PERFORM ledger._release_hold(p_tenant, p_entry_id, coalesce(p_amount, v_entry.amount));
    UPDATE ledger.entry AS e SET status = 'posted', amount = coalesce(p_amount, v_entry.amount)
     WHERE e.tenant_id = p_tenant AND e.entry_id = p_entry_id;
    RETURN QUERY SELECT v_entry.entry_id, 'posted'::text, false;
END
$$;
COMMENT ON FUNCTION ledger.capture(text, bigint, bigint) IS
    'Post a pending hold: all of it, or p_amount of a two-leg hold (the rest is released). Again with NULL or the same amount -> replayed; another amount -> PB003; voided or expired -> PB004; above the hold -> PB002.';
-- sql/10_ledger/053_void.sql
CREATE OR REPLACE FUNCTION ledger.void(p_tenant text, p_entry_id bigint)
RETURNS TABLE (entry_id bigint, status text, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_entry ledger.entry;
BEGIN
    v_entry := ledger._lock_entry(p_tenant, p_entry_id);
    IF v_entry.status = 'voided' THEN
        RETURN QUERY SELECT v_entry.entry_id, v_entry.status, true;
        RETURN;
    END IF;
    IF v_entry.status <> 'pending' THEN
        PERFORM ledger._raise('PB004', 'only a pending hold can be voided',
            format('entry_id=%s status=%s', p_entry_id, v_entry.status),
            'Undo a posted movement with ledger.reverse.');
    END IF;
    PERFORM ledger._release_hold(p_tenant, p_entry_id, NULL);
    UPDATE ledger.entry AS e SET status = 'voided'
     WHERE e.tenant_id = p_tenant AND e.entry_id = p_entry_id;
    RETURN QUERY SELECT v_entry.entry_id, 'voided'::text, false;
END
$$;
COMMENT ON FUNCTION ledger.void(text, bigint) IS
    'Release a pending hold (status voided); again -> replayed; a posted one -> PB004.';
-- sql/10_ledger/054_expire_holds.sql
CREATE OR REPLACE FUNCTION ledger.expire_holds(p_tenant text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_entries ledger.entry[];
    v_entry ledger.entry;
BEGIN
    -- Entries first (skipping those a capture or void is working on), then every account
    -- they touch in one global order, so this never deadlocks with other calls.
    SELECT array_agg(x) INTO v_entries FROM (
        SELECT e.* FROM ledger.entry AS e
         WHERE e.status = 'pending' AND e.expires_at <= clock_timestamp()
           AND (p_tenant IS NULL OR e.tenant_id = p_tenant)
         ORDER BY e.tenant_id, e.entry_id
           FOR UPDATE SKIP LOCKED) AS x;
    IF v_entries IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM FROM ledger.account AS a
     WHERE (a.tenant_id, a.account_id) IN (
            SELECT p.tenant_id, p.account_id FROM ledger.posting AS p
              JOIN unnest(v_entries) AS e ON p.tenant_id = e.tenant_id AND p.entry_id = e.entry_id)
     ORDER BY a.account_id
       FOR NO KEY UPDATE;
    -- The holds are released one statement each, so the stripes of striped accounts
    -- (ledger._apply_postings writes those last, in account_id order, on stripe
    -- txid_current() % stripes) are locked here first, in that order, created empty if missing.
    INSERT INTO ledger.account_stripe AS s (tenant_id, account_id, stripe_no)
    SELECT a.tenant_id, a.account_id, (txid_current() % a.stripes)::smallint
      FROM ledger.account AS a
     WHERE (a.tenant_id, a.account_id) IN (
            SELECT p.tenant_id, p.account_id FROM ledger.posting AS p
              JOIN unnest(v_entries) AS e ON p.tenant_id = e.tenant_id AND p.entry_id = e.entry_id)
       AND a.stripes > 0
     ORDER BY a.account_id
        ON CONFLICT ON CONSTRAINT account_stripe_pkey DO UPDATE SET stripe_no = s.stripe_no;
    FOREACH v_entry IN ARRAY v_entries LOOP
        PERFORM ledger._release_hold(v_entry.tenant_id, v_entry.entry_id, NULL);
    END LOOP;
    UPDATE ledger.entry AS e SET status = 'voided'
      FROM unnest(v_entries) AS x
     WHERE e.tenant_id = x.tenant_id AND e.entry_id = x.entry_id;
    RETURN cardinality(v_entries);
END
$$;
COMMENT ON FUNCTION ledger.expire_holds(text) IS
    'Void every pending hold past its expires_at (in one tenant, or all when NULL); returns how many. Run it periodically (pg_cron or pgbalance expire-holds).';
-- sql/10_ledger/060_reverse_private.sql
CREATE OR REPLACE FUNCTION ledger._reverse(
    p_tenant text, p_key text, p_entry_id bigint, p_amount bigint, p_metadata jsonb, p_user boolean)
RETURNS TABLE (entry_id bigint, status text, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_fingerprint uuid;
    v_reversal_id bigint;
    v_original ledger.entry;
    v_codes text[];
    v_amounts bigint[];
    v_closed text;
    v_remaining bigint;
    v_reverse bigint;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('key', p_key, p_user);
    IF p_entry_id IS NULL THEN
        PERFORM ledger._raise('22023', 'entry_id must not be NULL');
    END IF;
    PERFORM ledger._check_amount('amount', p_amount, true);
    IF p_metadata IS NOT NULL AND jsonb_typeof(p_metadata) <> 'object' THEN
        PERFORM ledger._raise('22023', 'metadata must be a JSON object');
    END IF;

    v_fingerprint := md5(jsonb_build_array('reverse', p_entry_id, p_amount)::text)::uuid;
    -- The amount is fixed once the original is locked; 1 holds the CHECK until then.
    INSERT INTO ledger.entry AS e (tenant_id, idempotency_key, fingerprint, status, amount, metadata)
    VALUES (p_tenant, p_key, v_fingerprint, 'posted', 1, coalesce(p_metadata, '{}'))
    ON CONFLICT (tenant_id, (md5(idempotency_key)::uuid)) DO NOTHING
    RETURNING e.entry_id INTO v_reversal_id;
    IF v_reversal_id IS NULL THEN
        RETURN QUERY SELECT * FROM ledger._replay(p_tenant, p_key, v_fingerprint);
        RETURN;
    END IF;
    -- The entry just claimed did not exist when this call began: a caller guessing the next
    -- id would otherwise make the reversal reverse itself (an entry without postings).
    IF p_entry_id = v_reversal_id THEN
        PERFORM ledger._raise('PB005', 'entry not found', format('entry_id=%s', p_entry_id));
    END IF;

    v_original := ledger._lock_entry(p_tenant, p_entry_id);
    SELECT array_agg(a.code ORDER BY b.first_no), array_agg(b.amount ORDER BY b.first_no),
           min(a.code) FILTER (WHERE a.closed_at IS NOT NULL)
      INTO v_codes, v_amounts, v_closed
      FROM (SELECT p.account_id, sum(p.amount)::bigint AS amount, min(p.posting_no) AS first_no
              FROM ledger.posting AS p
             WHERE p.tenant_id = p_tenant AND p.entry_id = p_entry_id AND p.kind = 'B'
             GROUP BY p.account_id) AS b
      JOIN ledger.account AS a ON a.tenant_id = p_tenant AND a.account_id = b.account_id;
    IF v_closed IS NOT NULL THEN
        PERFORM ledger._raise('PB007', 'account is closed', format('account=%s', v_closed));
    END IF;
    IF v_original.status <> 'posted' THEN
        PERFORM ledger._raise('PB004', format('a %s entry cannot be reversed',
                CASE v_original.status WHEN 'reversed' THEN 'fully reversed' ELSE v_original.status END),
            format('entry_id=%s status=%s', p_entry_id, v_original.status),
            'Only posted movements can be reversed; void a pending hold instead.');
    END IF;
    v_remaining := v_original.amount - v_original.reversed_amount;
    IF p_amount IS NOT NULL AND cardinality(v_codes) <> 2 AND p_amount <> v_original.amount THEN
        PERFORM ledger._raise('22023', 'partial reversal is only possible for two-leg entries',
            format('entry_id=%s legs=%s amount=%s requested=%s', p_entry_id, cardinality(v_codes),
                   v_original.amount, p_amount));
    END IF;
    v_reverse := coalesce(p_amount, v_remaining);
    IF v_reverse > v_remaining THEN
        PERFORM ledger._raise('PB002', 'reversal exceeds what remains of the entry',
            format('entry_id=%s amount=%s reversed=%s remaining=%s requested=%s', p_entry_id,
                   v_original.amount, v_original.reversed_amount, v_remaining, v_reverse));
    END IF;

    IF cardinality(v_codes) = 2 THEN
        v_amounts := ARRAY[-sign(v_amounts[1]) * v_reverse, -sign(v_amounts[2]) * v_reverse];
    ELSE
        v_amounts := (SELECT array_agg(-x ORDER BY o) FROM unnest(v_amounts) WITH ORDINALITY AS u(x, o));
    END IF;
    PERFORM ledger._apply_legs(p_tenant, v_reversal_id, v_codes, v_amounts, false, false);
    UPDATE ledger.entry AS e SET amount = v_reverse, reverses_entry_id = p_entry_id
     WHERE e.tenant_id = p_tenant AND e.entry_id = v_reversal_id;
    UPDATE ledger.entry AS e
       SET reversed_amount = e.reversed_amount + v_reverse,
           status = CASE WHEN e.reversed_amount + v_reverse = e.amount THEN 'reversed' ELSE e.status END
     WHERE e.tenant_id = p_tenant AND e.entry_id = p_entry_id;
    RETURN QUERY SELECT v_reversal_id, 'posted'::text, false;
END
$$;
COMMENT ON FUNCTION ledger._reverse(text, text, bigint, bigint, jsonb, boolean) IS
    'Private: ledger.reverse with the reserved-prefix check switchable, for workflows.';
-- sql/10_ledger/061_reverse.sql
CREATE OR REPLACE FUNCTION ledger.reverse(
    p_tenant text, p_key text, p_entry_id bigint, p_amount bigint DEFAULT NULL,
    p_metadata jsonb DEFAULT '{}')
RETURNS TABLE (entry_id bigint, status text, replayed boolean)
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM ledger._reverse(p_tenant, p_key, p_entry_id, p_amount, p_metadata, true)
$$;
COMMENT ON FUNCTION ledger.reverse(text, text, bigint, bigint, jsonb) IS
    'Post a new entry negating a posted one: what remains (p_amount NULL) or p_amount of a two-leg entry. Above what remains -> PB002; pending, voided or fully reversed -> PB004. The original becomes reversed once fully reversed. Idempotent by p_key.';
-- sql/10_ledger/070_get_entry.sql
CREATE OR REPLACE FUNCTION ledger.get_entry(p_tenant text, p_entry_id bigint)
RETURNS TABLE (entry_id bigint, idempotency_key text, status text, legs jsonb, metadata jsonb,
               created_at timestamptz)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    IF p_entry_id IS NULL THEN
        PERFORM ledger._raise('22023', 'entry_id must not be NULL');
    END IF;
    -- Legs are what the entry moved: its posted amounts, or for a hold that never posted,
    -- what it reserved (negative for the paying side).
    RETURN QUERY
    SELECT e.entry_id, e.idempotency_key, e.status,
           coalesce((SELECT jsonb_agg(jsonb_build_object('account', a.code, 'amount', l.amount)
                                      ORDER BY l.first_no)
                       FROM (SELECT p.account_id, min(p.posting_no) AS first_no,
                                    CASE WHEN bool_or(p.kind = 'B')
                                         THEN sum(p.amount) FILTER (WHERE p.kind = 'B')
                                         ELSE sum(CASE p.kind WHEN 'O' THEN -p.amount ELSE p.amount END)
                                                  FILTER (WHERE p.amount > 0)
                                    END::bigint AS amount
                               FROM ledger.posting AS p
                              WHERE p.tenant_id = e.tenant_id AND p.entry_id = e.entry_id
                              GROUP BY p.account_id) AS l
                       JOIN ledger.account AS a ON a.tenant_id = e.tenant_id AND a.account_id = l.account_id),
                    '[]'::jsonb),
           e.metadata, e.created_at
      FROM ledger.entry AS e
     WHERE e.tenant_id = p_tenant AND e.entry_id = p_entry_id;
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'entry not found', format('entry_id=%s', p_entry_id));
    END IF;
END
$$;
COMMENT ON FUNCTION ledger.get_entry(text, bigint) IS
    'An entry with its key, status, legs [{"account", "amount"}] and metadata; PB005 if unknown in this tenant.';
-- sql/10_ledger/071_account_id.sql
CREATE OR REPLACE FUNCTION ledger._account_id(p_tenant text, p_code text)
RETURNS bigint
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id bigint;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('code', p_code, false);
    SELECT a.account_id INTO v_id FROM ledger.account AS a
     WHERE a.tenant_id = p_tenant AND a.code = p_code;
    IF v_id IS NULL THEN
        PERFORM ledger._raise('PB005', 'account not found', format('account=%s', p_code));
    END IF;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION ledger._account_id(text, text) IS 'Private: the account id of a code, PB005 if unknown.';
-- sql/10_ledger/072_balance_at.sql
CREATE OR REPLACE FUNCTION ledger.balance_at(p_tenant text, p_code text, p_at timestamptz)
RETURNS bigint
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id bigint := ledger._account_id(p_tenant, p_code);
BEGIN
    IF p_at IS NULL THEN
        PERFORM ledger._raise('22023', 'p_at must not be NULL');
    END IF;
    RETURN (SELECT coalesce(sum(p.amount), 0)::bigint FROM ledger.posting AS p
             WHERE p.tenant_id = p_tenant AND p.account_id = v_id
               AND p.kind = 'B' AND p.posted_at <= p_at);
END
$$;
COMMENT ON FUNCTION ledger.balance_at(text, text, timestamptz) IS
    'The posted balance of an account at p_at: the sum of its postings with posted_at <= p_at.';
-- sql/10_ledger/073_statement.sql
CREATE OR REPLACE FUNCTION ledger.statement(
    p_tenant text, p_code text, p_since timestamptz DEFAULT '-infinity',
    p_until timestamptz DEFAULT 'infinity')
RETURNS TABLE (entry_id bigint, posted_at timestamptz, amount bigint, balance_after bigint,
               metadata jsonb)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_id bigint := ledger._account_id(p_tenant, p_code);
    v_opening bigint;
BEGIN
    IF p_since IS NULL OR p_until IS NULL THEN
        PERFORM ledger._raise('22023', 'p_since and p_until must not be NULL');
    END IF;
    SELECT coalesce(sum(p.amount), 0) INTO v_opening FROM ledger.posting AS p
     WHERE p.tenant_id = p_tenant AND p.account_id = v_id AND p.kind = 'B' AND p.posted_at < p_since;
    RETURN QUERY
    SELECT p.entry_id, p.posted_at, p.amount,
           (v_opening + sum(p.amount) OVER (ORDER BY p.posted_at, p.entry_id, p.posting_no))::bigint,
           e.metadata
      FROM ledger.posting AS p
      JOIN ledger.entry AS e ON e.tenant_id = p.tenant_id AND e.entry_id = p.entry_id
     WHERE p.tenant_id = p_tenant AND p.account_id = v_id AND p.kind = 'B'
       AND p.posted_at >= p_since AND p.posted_at <= p_until
     ORDER BY p.posted_at, p.entry_id, p.posting_no;
END
$$;
COMMENT ON FUNCTION ledger.statement(text, text, timestamptz, timestamptz) IS
    'Posted movements of an account between p_since and p_until, oldest first, signed from the account''s side, with the true running balance after each.';
-- sql/10_ledger/080_verify.sql
CREATE OR REPLACE FUNCTION ledger.verify(p_tenant text DEFAULT NULL)
RETURNS TABLE (check_name text, tenant text, subject text, detail text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH per_account AS (
        SELECT p.tenant_id, p.account_id,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'B'), 0) AS b,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'O'), 0) AS o,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'I'), 0) AS i
          FROM ledger.posting AS p
         WHERE p_tenant IS NULL OR p.tenant_id = p_tenant
         GROUP BY p.tenant_id, p.account_id
    ), per_stripe AS (
        -- An account's amounts are its row plus its stripes (striped accounts only).
        SELECT x.tenant_id, x.account_id, sum(x.balance) AS b, sum(x.pending_out) AS o,
               sum(x.pending_in) AS i, count(*) AS stripes
          FROM ledger.account_stripe AS x
         WHERE p_tenant IS NULL OR x.tenant_id = p_tenant
         GROUP BY x.tenant_id, x.account_id
    ), accounts AS (
        SELECT a.tenant_id, a.code, a.balance + coalesce(x.b, 0) AS balance,
               a.pending_out + coalesce(x.o, 0) AS pending_out,
               a.pending_in + coalesce(x.i, 0) AS pending_in, a.min_balance,
               a.max_balance, coalesce(s.b, 0) AS b, coalesce(s.o, 0) AS o, coalesce(s.i, 0) AS i,
               coalesce(x.stripes, 0) AS stripes, a.stripes AS declared_stripes
          FROM ledger.account AS a
          LEFT JOIN per_account AS s ON s.tenant_id = a.tenant_id AND s.account_id = a.account_id
          LEFT JOIN per_stripe AS x ON x.tenant_id = a.tenant_id AND x.account_id = a.account_id
         WHERE p_tenant IS NULL OR a.tenant_id = p_tenant
    ), per_currency AS (
        SELECT p.tenant_id, p.entry_id, a.currency,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'B'), 0) AS b,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'O'), 0) AS o,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'I'), 0) AS i
          FROM ledger.posting AS p
          JOIN ledger.account AS a ON a.tenant_id = p.tenant_id AND a.account_id = p.account_id
         WHERE p_tenant IS NULL OR p.tenant_id = p_tenant
         GROUP BY p.tenant_id, p.entry_id, a.currency
    ), reversed AS (
        -- One pass over the reversals (a subquery per entry would scan entry once per entry).
        SELECT r.tenant_id, r.reverses_entry_id AS entry_id, sum(r.amount) AS total
          FROM ledger.entry AS r
         WHERE r.reverses_entry_id IS NOT NULL AND (p_tenant IS NULL OR r.tenant_id = p_tenant)
         GROUP BY r.tenant_id, r.reverses_entry_id
    ), entries AS (
        SELECT e.tenant_id, e.entry_id, e.status, e.amount, e.reversed_amount,
               count(p.entry_id) AS postings,
               count(p.entry_id) FILTER (WHERE p.kind = 'B') AS b_postings,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'B' AND p.amount > 0), 0) AS b_positive,
               coalesce(sum(p.amount) FILTER (WHERE p.kind = 'I' AND p.amount > 0), 0) AS held,
               coalesce(sum(p.amount) FILTER (WHERE p.kind <> 'B'), 0) AS pending_net,
               coalesce(min(x.total), 0) AS reversals
          FROM ledger.entry AS e
          LEFT JOIN ledger.posting AS p ON p.tenant_id = e.tenant_id AND p.entry_id = e.entry_id
          LEFT JOIN reversed AS x ON x.tenant_id = e.tenant_id AND x.entry_id = e.entry_id
         WHERE p_tenant IS NULL OR e.tenant_id = p_tenant
         GROUP BY e.tenant_id, e.entry_id
    )
    SELECT 'balance_mismatch', tenant_id, code, format('balance=%s postings=%s', balance, b)
      FROM accounts WHERE balance <> b
    UNION ALL
    SELECT 'pending_out_mismatch', tenant_id, code, format('pending_out=%s postings=%s', pending_out, o)
      FROM accounts WHERE pending_out <> o
    UNION ALL
    SELECT 'pending_in_mismatch', tenant_id, code, format('pending_in=%s postings=%s', pending_in, i)
      FROM accounts WHERE pending_in <> i
    UNION ALL
    SELECT 'stripes_not_allowed', tenant_id, code,
           format('stripe_rows=%s stripes=%s min_balance=%s max_balance=%s', stripes,
                  declared_stripes, min_balance, max_balance)
      FROM accounts
     WHERE stripes > 0 AND (declared_stripes = 0 OR min_balance IS NOT NULL OR max_balance IS NOT NULL)
    UNION ALL
    SELECT 'below_floor', tenant_id, code,
           format('available=%s min_balance=%s', balance - pending_out, min_balance)
      FROM accounts WHERE balance - pending_out < min_balance
    UNION ALL
    SELECT 'above_ceiling', tenant_id, code,
           format('balance=%s pending_in=%s max_balance=%s', balance, pending_in, max_balance)
      FROM accounts WHERE balance + pending_in > max_balance
    UNION ALL
    SELECT 'entry_unbalanced', tenant_id, entry_id::text, format('currency=%s sum=%s', currency, b)
      FROM per_currency WHERE b <> 0
    UNION ALL
    SELECT 'hold_unbalanced', tenant_id, entry_id::text,
           format('currency=%s pending_out=%s pending_in=%s', currency, o, i)
      FROM per_currency WHERE o <> i
    UNION ALL
    SELECT 'entry_without_postings', tenant_id, entry_id::text, format('status=%s', status)
      FROM entries WHERE postings = 0
    UNION ALL
    SELECT 'status_mismatch', tenant_id, entry_id::text,
           format('status=%s amount=%s reversed=%s posted_legs=%s posted=%s held=%s still_pending=%s',
                  status, amount, reversed_amount, b_postings, b_positive, held, pending_net)
      FROM entries
     WHERE postings > 0 AND NOT CASE status
           WHEN 'pending'  THEN b_postings = 0 AND pending_net > 0 AND held = amount AND reversed_amount = 0
           WHEN 'voided'   THEN b_postings = 0 AND pending_net = 0 AND held = amount AND reversed_amount = 0
           WHEN 'posted'   THEN b_postings > 0 AND pending_net = 0 AND b_positive = amount AND reversed_amount < amount
           WHEN 'reversed' THEN b_postings > 0 AND pending_net = 0 AND b_positive = amount AND reversed_amount = amount
           ELSE false END
    UNION ALL
    SELECT 'reversal_mismatch', tenant_id, entry_id::text,
           format('reversed_amount=%s reversals=%s', reversed_amount, reversals)
      FROM entries WHERE reversed_amount <> reversals
$$;
COMMENT ON FUNCTION ledger.verify(text) IS
    'Recompute everything from postings: balances and pending columns (stripes included; stripe rows only on striped accounts without limits), per-currency balance of every entry, limits, entry status against its postings, reversal totals. No rows = consistent. For the owner and pgbalance_auditor.';
-- sql/10_ledger/090_transfer_batch.sql
-- Many transfers in one call (docs/batch.md). Each item is a transfer of its own, idempotent
-- by its key as ledger.transfer, with that function's checks and check order; items take
-- effect in idx order, so an item sees the balances the items before it left.
--
-- The lock order is the kernel's: every key is claimed first (one INSERT, in key order, so two
-- batches sharing keys queue instead of deadlocking, and a single transfer holding one of the
-- keys finishes first: it waits on no lock a batch holds before its accounts), then every
-- account the claimed items touch is locked in account_id order (ledger._apply_legs' two
-- passes), then the items are checked in idx order against balances kept in arrays, and the
-- postings of all items that passed go in with one INSERT (one run of the posting trigger).
-- Non-atomic: a failed item discards the entry row it claimed (ledger._guard_history lets
-- that DELETE through while pgbalance.discarding is on; an entry with postings cannot be
-- deleted, the posting foreign key refuses), so it leaves nothing and its key stays free:
-- no subtransaction per item. Atomic: the first failing item (in idx order) raises its
-- SQLSTATE for the whole call, DETAIL starting with idx=<n>, and everything rolls back.
-- Entry ids are drawn in idx order (so a statement, which orders an account's postings of one
-- instant by entry_id, lists them in the order they took effect); the same key twice in one
-- batch behaves as two transfer calls in a row: the second replays the first (or PB003), or
-- tries again if the first failed.
CREATE OR REPLACE FUNCTION ledger.transfer_batch(
    p_tenant text, p_transfers jsonb, p_atomic boolean DEFAULT false)
RETURNS TABLE (idx integer, entry_id bigint, status text, replayed boolean, error_code text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- A custom plan per call (for the array sizes) costs more than it saves.
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    c_max_items CONSTANT integer := 1000;
    v_n integer;
    -- per item, 1..v_n
    v_key text[];
    v_from text[];
    v_to text[];
    v_amount bigint[];
    v_meta jsonb[];
    v_fp uuid[];
    v_first integer[];      -- first valid item with the same key
    v_err text[];           -- SQLSTATE of a failed item
    v_msg text[];
    v_detail text[];
    v_eid bigint[];         -- the item's entry (its own, or the one it replays)
    v_status text[];
    v_replayed boolean[];
    v_id bigint[];          -- entry id drawn for an item that may post
    v_map jsonb;            -- account code -> slot
    v_owner integer[];      -- per first item: the item of this batch whose entry holds the key
    v_claimed boolean[];    -- per first item: this call inserted the key's entry row
    -- per locked account (slot), in account_id order
    v_acode text[];
    v_aid bigint[];
    v_cur text[];
    v_bal bigint[];
    v_pout bigint[];
    v_pin bigint[];
    v_min bigint[];
    v_max bigint[];
    v_closed boolean[];
    v_striped boolean[];
    -- work
    v_todo integer[];       -- items to check in the loop, ascending
    v_codes text[];
    v_rows ledger.account[];
    v_pe bigint[] := '{}';  -- postings: entry, account, amount
    v_pa bigint[] := '{}';
    v_px bigint[] := '{}';
    v_ok integer[] := '{}'; -- items that post, ascending
    v_drop bigint[] := '{}';
    v_ids bigint[];
    v_fps uuid[];
    v_sts text[];
    v_i integer;
    v_f integer;
    v_o integer;
    v_a integer;
    v_b integer;
    v_x bigint;
    v_total record;
    v_now timestamptz;
    v_bad integer;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    IF p_transfers IS NULL OR jsonb_typeof(p_transfers) <> 'array' THEN
        PERFORM ledger._raise('22023', 'p_transfers must be a JSON array of transfers',
            format('transfers=%s', left(coalesce(p_transfers::text, 'NULL'), 100)),
            'Items are {"key", "from", "to", "amount", "metadata"} objects.');
    END IF;
    IF p_atomic IS NULL THEN
        PERFORM ledger._raise('22023', 'p_atomic must not be NULL');
    END IF;
    v_n := jsonb_array_length(p_transfers);
    IF v_n > c_max_items THEN
        PERFORM ledger._raise('22023', format('a batch holds at most %s transfers', c_max_items),
            format('items=%s', v_n), 'Split it into several calls.');
    END IF;
    IF v_n = 0 THEN
        RETURN;
    END IF;

    -- 1. Parse and check every item as ledger.transfer would (22023), fingerprint it as
    --    ledger._post does, and find the first valid item of each key.
    -- MATERIALIZED: inlined, each reference would evaluate the expressions again.
    WITH raw AS MATERIALIZED (
        SELECT o::integer AS i, x,
               CASE WHEN jsonb_typeof(x) = 'object' THEN x ->> 'key' END AS k,
               CASE WHEN jsonb_typeof(x) = 'object' THEN x ->> 'from' END AS f,
               CASE WHEN jsonb_typeof(x) = 'object' THEN x ->> 'to' END AS t,
               CASE WHEN jsonb_typeof(x) = 'object' THEN x -> 'amount' END AS a,
               CASE WHEN jsonb_typeof(x) = 'object' THEN x -> 'metadata' END AS m
          FROM jsonb_array_elements(p_transfers) WITH ORDINALITY AS e(x, o)
    ), checked AS MATERIALIZED (
        SELECT r.*,
               CASE
                 WHEN jsonb_typeof(r.x) IS DISTINCT FROM 'object' THEN
                      'an item must be a JSON object|item=' || left(r.x::text, 100)
                 WHEN jsonb_typeof(r.a) IS DISTINCT FROM 'number' OR (r.a #>> '{}') !~ '^-?[0-9]+$'
                      OR (r.a #>> '{}')::numeric NOT BETWEEN -9223372036854775808 AND 9223372036854775807 THEN
                      'amount must be an integer (minor units)|amount=' || coalesce(left(r.a::text, 40), 'NULL')
                 WHEN (r.a #>> '{}')::numeric <= 0 THEN
                      'amount must be greater than 0|amount=' || (r.a #>> '{}')
                 WHEN jsonb_typeof(x -> 'key') IS DISTINCT FROM 'string' OR r.k = '' THEN
                      'key must be a non-empty string|key=' || coalesce(left((x -> 'key')::text, 100), 'NULL')
                 WHEN length(r.k) > 200 THEN 'key is longer than 200 characters|length=' || length(r.k)
                 WHEN starts_with(r.k, 'pgb:') THEN 'key may not start with the reserved prefix pgb:|key=' || r.k
                 WHEN jsonb_typeof(x -> 'from') IS DISTINCT FROM 'string' OR r.f = '' THEN
                      'from must be a non-empty account code|from=' || coalesce(left((x -> 'from')::text, 100), 'NULL')
                 WHEN length(r.f) > 200 THEN 'from is longer than 200 characters|length=' || length(r.f)
                 WHEN starts_with(r.f, 'pgb:') THEN 'from may not start with the reserved prefix pgb:|from=' || r.f
                 WHEN jsonb_typeof(x -> 'to') IS DISTINCT FROM 'string' OR r.t = '' THEN
                      'to must be a non-empty account code|to=' || coalesce(left((x -> 'to')::text, 100), 'NULL')
                 WHEN length(r.t) > 200 THEN 'to is longer than 200 characters|length=' || length(r.t)
                 WHEN starts_with(r.t, 'pgb:') THEN 'to may not start with the reserved prefix pgb:|to=' || r.t
                 WHEN r.f = r.t THEN 'the same account appears twice in one movement|accounts=' || r.f || ',' || r.t
                 WHEN r.m IS NOT NULL AND jsonb_typeof(r.m) NOT IN ('object', 'null') THEN
                      'metadata must be a JSON object|metadata=' || left(r.m::text, 100)
               END AS problem
          FROM raw AS r
    ), valid AS MATERIALIZED (
        SELECT c.*, CASE WHEN c.problem IS NULL THEN (c.a #>> '{}')::bigint END AS amount,
               CASE WHEN c.problem IS NULL
                    THEN min(c.i) FILTER (WHERE c.problem IS NULL) OVER (PARTITION BY c.k) END AS first
          FROM checked AS c
    )
    SELECT array_agg(v.k ORDER BY v.i), array_agg(v.f ORDER BY v.i), array_agg(v.t ORDER BY v.i),
           array_agg(CASE WHEN v.problem IS NULL THEN v.amount END ORDER BY v.i),
           array_agg(CASE WHEN v.problem IS NULL THEN coalesce(nullif(v.m, 'null'::jsonb), '{}') END
                     ORDER BY v.i),
           -- The same text ledger._post hashes for a transfer (legs sorted by code).
           array_agg(CASE WHEN v.problem IS NULL THEN md5(jsonb_build_array(
                    CASE WHEN v.f < v.t
                         THEN jsonb_build_array(jsonb_build_array(v.f, -v.amount), jsonb_build_array(v.t, v.amount))
                         ELSE jsonb_build_array(jsonb_build_array(v.t, v.amount), jsonb_build_array(v.f, -v.amount)) END,
                    false, NULL)::text)::uuid END ORDER BY v.i),
           array_agg(v.first ORDER BY v.i),
           array_agg(CASE WHEN v.problem IS NOT NULL THEN '22023' END ORDER BY v.i),
           array_agg(split_part(v.problem, '|', 1) ORDER BY v.i),
           array_agg(substr(v.problem, strpos(v.problem, '|') + 1) ORDER BY v.i)
      INTO v_key, v_from, v_to, v_amount, v_meta, v_fp, v_first, v_err, v_msg, v_detail
      FROM valid AS v;
    v_eid := array_fill(NULL::bigint, ARRAY[v_n]);
    v_status := array_fill(NULL::text, ARRAY[v_n]);
    v_replayed := array_fill(NULL::boolean, ARRAY[v_n]);
    v_id := array_fill(NULL::bigint, ARRAY[v_n]);
    v_owner := array_fill(NULL::integer, ARRAY[v_n]);
    v_claimed := array_fill(false, ARRAY[v_n]);

    -- 2. Claim the keys of the first valid items, in key order, with entry ids drawn in idx
    --    order for every valid item (a later item with the same key may need its own).
    SELECT array_agg(g.i ORDER BY g.i) INTO v_todo
      FROM generate_subscripts(v_first, 1) AS g(i) WHERE v_first[g.i] IS NOT NULL;
    IF v_todo IS NOT NULL THEN
        SELECT array_agg(nextval('ledger.entry_entry_id_seq'::regclass)) INTO v_ids
          FROM generate_series(1, cardinality(v_todo));
        FOR v_i IN 1 .. cardinality(v_todo) LOOP
            v_id[v_todo[v_i]] := v_ids[v_i];
        END LOOP;
        WITH ins AS (
            INSERT INTO ledger.entry AS e (tenant_id, entry_id, idempotency_key, fingerprint,
                                           status, amount, metadata)
            OVERRIDING SYSTEM VALUE
            SELECT p_tenant, v_id[u.i], v_key[u.i], v_fp[u.i], 'posted', v_amount[u.i], v_meta[u.i]
              FROM unnest(v_todo) AS u(i)
             WHERE v_first[u.i] = u.i
             ORDER BY v_key[u.i] COLLATE "C"
                ON CONFLICT (tenant_id, (md5(idempotency_key)::uuid)) DO NOTHING
            RETURNING e.entry_id
        )
        -- Claimed: the first item's row went in (its id came back).
        SELECT array_agg(r.id IS NOT NULL ORDER BY g.i),
               count(*) FILTER (WHERE v_first[g.i] = g.i AND r.id IS NULL)
          INTO v_claimed, v_bad
          FROM generate_series(1, v_n) AS g(i)
          LEFT JOIN (SELECT ins.entry_id AS id FROM ins) AS r ON r.id = v_id[g.i];
        -- Keys already taken: a separate statement, so it sees what a concurrent caller
        -- committed. Every valid item with such a key replays that entry or conflicts with it.
        IF v_bad > 0 THEN
            SELECT array_agg(e.entry_id ORDER BY g.i), array_agg(e.fingerprint ORDER BY g.i),
                   array_agg(e.status ORDER BY g.i)
              INTO v_ids, v_fps, v_sts
              FROM generate_series(1, v_n) AS g(i)
              LEFT JOIN (SELECT x.idempotency_key, x.entry_id, x.fingerprint, x.status
                           FROM ledger.entry AS x
                          WHERE x.tenant_id = p_tenant
                            AND md5(x.idempotency_key)::uuid = ANY (ARRAY(
                                SELECT md5(v_key[u.i])::uuid FROM unnest(v_todo) AS u(i)
                                 WHERE NOT v_claimed[v_first[u.i]]))) AS e
                ON e.idempotency_key = v_key[g.i]
               AND v_first[g.i] IS NOT NULL AND NOT v_claimed[v_first[g.i]];
            FOREACH v_f IN ARRAY v_todo LOOP
                CONTINUE WHEN v_ids[v_f] IS NULL;
                IF v_fp[v_f] = v_fps[v_f] THEN
                    v_eid[v_f] := v_ids[v_f];
                    v_status[v_f] := v_sts[v_f];
                    v_replayed[v_f] := true;
                ELSE
                    v_err[v_f] := 'PB003';
                    v_msg[v_f] := 'idempotency key reused with different parameters';
                    v_detail[v_f] := format('key=%s entry_id=%s', v_key[v_f], v_ids[v_f]);
                END IF;
            END LOOP;
        END IF;
        -- What is left to check: items of claimed keys.
        SELECT array_agg(u.i ORDER BY u.i) INTO v_todo
          FROM unnest(v_todo) AS u(i) WHERE v_claimed[v_first[u.i]];
    END IF;

    IF v_todo IS NOT NULL THEN
        -- 3. Lock their accounts in the kernel's order: not striped FOR NO KEY UPDATE by
        --    account_id, then all FOR KEY SHARE by account_id (new only for striped ones).
        v_codes := ARRAY(SELECT v_from[u.i] FROM unnest(v_todo) AS u(i)
                         UNION SELECT v_to[u.i] FROM unnest(v_todo) AS u(i));
        SELECT array_agg(l.a) INTO v_rows
          FROM (SELECT a FROM ledger.account AS a
                 WHERE a.tenant_id = p_tenant AND a.code = ANY (v_codes) AND a.stripes = 0
                 ORDER BY a.account_id
                   FOR NO KEY UPDATE) AS l;
        -- Striped or unknown accounts: a second pass, a new statement (see ledger._apply_legs).
        IF coalesce(cardinality(v_rows), 0) < cardinality(v_codes) THEN
            v_rows := coalesce(v_rows, '{}') || ARRAY(
                SELECT l.a
                  FROM (SELECT a FROM ledger.account AS a
                         WHERE a.tenant_id = p_tenant AND a.code = ANY (v_codes) AND a.stripes > 0
                         ORDER BY a.account_id
                           FOR KEY SHARE) AS l);
        END IF;
        -- Slot of each account: its position in these arrays (v_map: code -> slot).
        SELECT jsonb_object_agg(x.code, x.ordinality),
               array_agg(x.code ORDER BY x.ordinality), array_agg(x.account_id ORDER BY x.ordinality),
               array_agg(x.currency ORDER BY x.ordinality), array_agg(x.balance ORDER BY x.ordinality),
               array_agg(x.pending_out ORDER BY x.ordinality),
               array_agg(x.pending_in ORDER BY x.ordinality),
               array_agg(x.min_balance ORDER BY x.ordinality),
               array_agg(x.max_balance ORDER BY x.ordinality),
               array_agg(x.closed_at IS NOT NULL ORDER BY x.ordinality),
               array_agg(x.stripes > 0 ORDER BY x.ordinality)
          INTO v_map, v_acode, v_aid, v_cur, v_bal, v_pout, v_pin, v_min, v_max, v_closed, v_striped
          FROM unnest(v_rows) WITH ORDINALITY AS x;

        -- An account without limits has its total in its row plus its stripes; only a huge
        -- credit needs that total (an overflow is a limit error, as in ledger._apply_legs).
        FOR v_b IN SELECT DISTINCT (v_map ->> v_to[u.i])::integer FROM unnest(v_todo) AS u(i)
                    WHERE v_amount[u.i] >= 4503599627370496 LOOP
            CONTINUE WHEN v_b IS NULL OR v_min[v_b] IS NOT NULL OR v_max[v_b] IS NOT NULL;
            SELECT o.balance, o.pending_in INTO v_total FROM ledger._account_out(p_tenant, v_acode[v_b]) AS o;
            v_bal[v_b] := v_total.balance;
            v_pin[v_b] := v_total.pending_in;
        END LOOP;

        -- 4. Check the items in idx order, as ledger._apply_legs would one call after another.
        FOREACH v_i IN ARRAY v_todo LOOP
            v_f := v_first[v_i];
            IF v_f <> v_i THEN
                v_o := v_owner[v_f];
                IF v_o IS NOT NULL THEN     -- an earlier item of this batch holds the key
                    IF v_fp[v_i] = v_fp[v_o] THEN
                        v_eid[v_i] := v_id[v_o];
                        v_status[v_i] := 'posted';
                        v_replayed[v_i] := true;
                    ELSE
                        v_err[v_i] := 'PB003';
                        v_msg[v_i] := 'idempotency key reused with different parameters';
                        v_detail[v_i] := format('key=%s entry_id=%s', v_key[v_i], v_id[v_o]);
                    END IF;
                    CONTINUE;
                END IF;
                -- every earlier item with this key failed: this one tries again
            END IF;
            v_a := (v_map ->> v_from[v_i])::integer;
            v_b := (v_map ->> v_to[v_i])::integer;
            v_x := v_amount[v_i];
            IF v_a IS NULL OR v_b IS NULL THEN
                v_err[v_i] := 'PB005';
                v_msg[v_i] := 'account not found';
                v_detail[v_i] := format('account=%s', CASE WHEN v_a IS NULL THEN v_from[v_i] ELSE v_to[v_i] END);
            ELSIF v_cur[v_a] <> v_cur[v_b] THEN
                v_err[v_i] := 'PB006';
                v_msg[v_i] := 'accounts of different currencies in one movement';
                v_detail[v_i] := format('accounts=%s,%s', v_from[v_i], v_to[v_i]);
            ELSIF v_closed[v_a] OR v_closed[v_b] THEN
                v_err[v_i] := 'PB007';
                v_msg[v_i] := 'account is closed';
                v_detail[v_i] := format('account=%s', CASE WHEN v_closed[v_a] THEN v_from[v_i] ELSE v_to[v_i] END);
            ELSIF NOT v_striped[v_a]
                  AND v_bal[v_a]::numeric - v_pout[v_a] - v_x < v_min[v_a] THEN
                v_err[v_i] := 'PB001';
                v_msg[v_i] := format('insufficient funds in account %s', v_from[v_i]);
                v_detail[v_i] := format('account=%s available=%s requested=%s pending=%s min_balance=%s',
                    v_from[v_i], v_bal[v_a] - v_pout[v_a], v_x, v_pout[v_a], v_min[v_a]);
            ELSIF (NOT v_striped[v_b] OR v_x >= 4503599627370496)
                  AND v_bal[v_b]::numeric + v_pin[v_b] + v_x > coalesce(v_max[v_b], 9223372036854775807) THEN
                v_err[v_i] := 'PB002';
                v_msg[v_i] := format('account %s would exceed its maximum balance', v_to[v_i]);
                v_detail[v_i] := format('account=%s balance=%s pending_in=%s requested=%s max_balance=%s',
                    v_to[v_i], v_bal[v_b], v_pin[v_b], v_x,
                    coalesce(v_max[v_b]::text, '9223372036854775807'));
            ELSE
                v_bal[v_a] := v_bal[v_a] - v_x;
                v_bal[v_b] := v_bal[v_b] + v_x;
                v_owner[v_f] := v_i;
                v_eid[v_i] := v_id[v_i];
                v_status[v_i] := 'posted';
                v_replayed[v_i] := false;
                v_ok := v_ok || v_i;
                v_pe := v_pe || v_id[v_i] || v_id[v_i];
                v_pa := v_pa || v_aid[v_a] || v_aid[v_b];
                v_px := v_px || -v_x || v_x;
            END IF;
        END LOOP;
    END IF;

    IF p_atomic THEN
        SELECT min(g.i) INTO v_bad FROM generate_subscripts(v_err, 1) AS g(i) WHERE v_err[g.i] IS NOT NULL;
        IF v_bad IS NOT NULL THEN
            PERFORM ledger._raise(v_err[v_bad], format('transfer_batch item %s: %s', v_bad, v_msg[v_bad]),
                format('idx=%s %s', v_bad, v_detail[v_bad]),
                'Atomic batch: nothing was applied. Fix or drop that item and send the batch again.');
        END IF;
    END IF;

    IF v_todo IS NOT NULL THEN
        -- 5. Keys whose claimed row does not hold the key's posting item: discard that row
        --    (no postings, so the DELETE is let through), then put in the row of a later item
        --    with the same key that passed after the first one failed.
        FOREACH v_i IN ARRAY v_todo LOOP
            IF v_first[v_i] = v_i AND v_owner[v_i] IS DISTINCT FROM v_i THEN
                v_drop := v_drop || v_id[v_i];
            END IF;
        END LOOP;
        IF cardinality(v_drop) > 0 THEN
            PERFORM set_config('pgbalance.discarding', 'on', true);
            DELETE FROM ledger.entry AS e WHERE e.tenant_id = p_tenant AND e.entry_id = ANY (v_drop);
            PERFORM set_config('pgbalance.discarding', '', true);
            INSERT INTO ledger.entry AS e (tenant_id, entry_id, idempotency_key, fingerprint,
                                           status, amount, metadata)
            OVERRIDING SYSTEM VALUE
            SELECT p_tenant, v_id[u.i], v_key[u.i], v_fp[u.i], 'posted', v_amount[u.i], v_meta[u.i]
              FROM unnest(v_ok) AS u(i)
             WHERE v_first[u.i] <> u.i AND v_owner[v_first[u.i]] = u.i;
        END IF;

        -- 6. The postings of every item that passed, one statement: the trigger applies them.
        IF cardinality(v_ok) > 0 THEN
            v_now := clock_timestamp();
            INSERT INTO ledger.posting (tenant_id, entry_id, posting_no, account_id, kind, amount,
                                        posted_at)
            SELECT p_tenant, u.e, 2 - (u.o % 2)::smallint, u.a, 'B', u.x, v_now
              FROM unnest(v_pe, v_pa, v_px) WITH ORDINALITY AS u(e, a, x, o);
        END IF;
    END IF;

    RETURN QUERY
    SELECT g.i, v_eid[g.i], v_status[g.i], v_replayed[g.i], v_err[g.i]
      FROM generate_series(1, v_n) AS g(i);
END
$$;
COMMENT ON FUNCTION ledger.transfer_batch(text, jsonb, boolean) IS
    'Many transfers in one call: p_transfers = [{"key", "from", "to", "amount", "metadata"}, ...] (at most 10000), applied in order, each idempotent by its key as ledger.transfer. One row per item (idx from 1). Non-atomic (default): each item succeeds or fails on its own (error_code = its SQLSTATE, entry_id NULL, nothing left). Atomic: all or none; the first failing item''s SQLSTATE is raised with idx=<n> in DETAIL. p_transfers not an array -> 22023.';
-- sql/20_wallet/001_wallet_out.sql
-- The one place that shapes a wallet row for callers: balances come from the kernel account,
-- read the way the kernel shapes it for its own callers.
CREATE OR REPLACE FUNCTION wallet._wallet_out(p_tenant text, p_user text)
RETURNS TABLE (user_id text, currency text, balance bigint, available bigint)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT w.user_id, w.currency, a.balance, a.available
      FROM wallet.wallet AS w
     CROSS JOIN LATERAL ledger._account_out(w.tenant_id, w.account_code) AS a
     WHERE w.tenant_id = p_tenant AND w.user_id = p_user
$$;
COMMENT ON FUNCTION wallet._wallet_out(text, text) IS 'Private: the wallet row as the API returns it.';
-- sql/20_wallet/002_tx_out.sql
CREATE OR REPLACE FUNCTION wallet._tx_out(p_tenant text, p_reference text, p_replayed boolean)
RETURNS TABLE (reference text, user_id text, kind text, amount bigint, status text, replayed boolean)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.reference, t.user_id, t.kind, t.amount, t.status, p_replayed
      FROM wallet.tx AS t
     WHERE t.tenant_id = p_tenant AND t.reference = p_reference
$$;
COMMENT ON FUNCTION wallet._tx_out(text, text, boolean) IS 'Private: the tx row as the API returns it.';
-- sql/20_wallet/003_account.sql
-- For workflows that move wallet money themselves (fees): the wallet's kernel account code.
CREATE OR REPLACE FUNCTION wallet._account(p_tenant text, p_user text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_code text;
BEGIN
    SELECT w.account_code INTO v_code FROM wallet.wallet AS w
     WHERE w.tenant_id = p_tenant AND w.user_id = p_user;
    IF v_code IS NULL THEN
        PERFORM ledger._raise('PB005', 'wallet not found', format('user=%s', p_user),
            'Open it first with wallet.open.');
    END IF;
    RETURN v_code;
END
$$;
COMMENT ON FUNCTION wallet._account(text, text) IS
    'Private: the kernel account code of a wallet (pgb:wallet:<user>), PB005 if the user has no wallet in this tenant.';
-- sql/20_wallet/004_funding_account.sql
-- Tenant-level counterparts of every wallet movement, one per currency, no floor or ceiling:
-- top-ups come from pgb:wallet-funding:<CUR> (money received from the payment side),
-- purchases go to pgb:wallet-revenue:<CUR>. Outside the pgb:wallet: namespace, so no user
-- id can ever name them.
CREATE OR REPLACE FUNCTION wallet._funding_account(p_currency text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'pgb:wallet-funding:' || p_currency
$$;
COMMENT ON FUNCTION wallet._funding_account(text) IS
    'Private: the per-currency account top-ups are paid from (no floor, no ceiling).';
-- sql/20_wallet/005_revenue_account.sql
CREATE OR REPLACE FUNCTION wallet._revenue_account(p_currency text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'pgb:wallet-revenue:' || p_currency
$$;
COMMENT ON FUNCTION wallet._revenue_account(text) IS
    'Private: the per-currency account purchases are paid to (no floor, no ceiling).';
-- sql/20_wallet/010_open.sql
CREATE OR REPLACE FUNCTION wallet.open(p_tenant text, p_user text, p_currency text)
RETURNS TABLE (user_id text, currency text, balance bigint, available bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_existing wallet.wallet;
    v_claimed boolean;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_reference('user', p_user);
    PERFORM ledger._check_currency(p_currency);

    SELECT * INTO v_existing FROM wallet.wallet AS w
     WHERE w.tenant_id = p_tenant AND w.user_id = p_user;
    IF NOT FOUND THEN
        -- The tenant's counterpart accounts, then the wallet's own account (the wallet row's
        -- foreign key needs it). A concurrent opener of the same user waits on the account
        -- insert and then sees this definition.
        PERFORM FROM ledger._open_account(p_tenant, wallet._funding_account(p_currency), p_currency,
            NULL, NULL, jsonb_build_object('workflow', 'wallet', 'role', 'funding'));
        PERFORM FROM ledger._open_account(p_tenant, wallet._revenue_account(p_currency), p_currency,
            NULL, NULL, jsonb_build_object('workflow', 'wallet', 'role', 'revenue'));
        -- A user of another currency already holding this account raises PB003 here.
        PERFORM FROM ledger._open_account(p_tenant, 'pgb:wallet:' || p_user, p_currency, 0, NULL,
            jsonb_build_object('workflow', 'wallet', 'user', p_user));
        INSERT INTO wallet.wallet AS w (tenant_id, user_id, currency, account_code)
        VALUES (p_tenant, p_user, p_currency, 'pgb:wallet:' || p_user)
        ON CONFLICT ON CONSTRAINT wallet_pkey DO NOTHING
        RETURNING true INTO v_claimed;
        IF v_claimed IS NULL THEN
            SELECT * INTO v_existing FROM wallet.wallet AS w
             WHERE w.tenant_id = p_tenant AND w.user_id = p_user;
        END IF;
    END IF;
    IF v_existing.currency <> p_currency THEN
        PERFORM ledger._raise('PB003', 'wallet already exists in another currency',
            format('user=%s existing=%s requested=%s', p_user, v_existing.currency, p_currency));
    END IF;
    RETURN QUERY SELECT * FROM wallet._wallet_out(p_tenant, p_user);
END
$$;
COMMENT ON FUNCTION wallet.open(text, text, text) IS
    'Open the wallet of p_user in p_currency (a kernel account pgb:wallet:<user> with min_balance 0); again with the same currency returns it, with another PB003. 22023 for an empty/over-long user or a malformed currency.';
-- sql/20_wallet/011_balance.sql
CREATE OR REPLACE FUNCTION wallet.balance(p_tenant text, p_user text)
RETURNS TABLE (user_id text, currency text, balance bigint, available bigint)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('user', p_user, false);
    RETURN QUERY SELECT * FROM wallet._wallet_out(p_tenant, p_user);
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'wallet not found', format('user=%s', p_user),
            'Open it first with wallet.open.');
    END IF;
END
$$;
COMMENT ON FUNCTION wallet.balance(text, text) IS
    'The wallet of p_user: currency, balance and available (balance minus pending debits); PB005 if the user has no wallet in this tenant.';
-- sql/20_wallet/020_move.sql
-- The shared path of topup and purchase: validate, claim the reference (the tx row), let the
-- kernel move the money, record the entry. The wallet account's floor (min_balance 0) is the
-- only overdraft rule: the kernel raises PB001 and the claim rolls back with the call.
CREATE OR REPLACE FUNCTION wallet._move(
    p_tenant text, p_user text, p_kind text, p_amount bigint, p_reference text, p_items jsonb)
RETURNS TABLE (reference text, user_id text, kind text, amount bigint, status text, replayed boolean)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_wallet wallet.wallet;
    v_tx wallet.tx;
    v_claimed boolean;
    v_codes text[];
    v_entry_id bigint;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_reference('user', p_user);
    PERFORM ledger._check_amount('amount', p_amount);
    PERFORM ledger._check_reference('reference', p_reference);
    IF p_items IS NOT NULL AND jsonb_typeof(p_items) <> 'array' THEN
        PERFORM ledger._raise('22023', 'items must be a JSON array',
            format('items=%s', left(p_items::text, 100)));
    END IF;

    SELECT * INTO v_wallet FROM wallet.wallet AS w
     WHERE w.tenant_id = p_tenant AND w.user_id = p_user;
    IF FOUND THEN
        -- The claim: a concurrent call with the same reference waits here until this one ends.
        INSERT INTO wallet.tx AS t (tenant_id, reference, user_id, kind, amount, items)
        VALUES (p_tenant, p_reference, p_user, p_kind, p_amount, coalesce(p_items, '[]'))
        ON CONFLICT ON CONSTRAINT tx_pkey DO NOTHING
        RETURNING true INTO v_claimed;
    END IF;
    IF v_claimed IS NULL THEN
        -- A separate statement: a fresh snapshot sees the winner's committed row.
        SELECT * INTO v_tx FROM wallet.tx AS t
         WHERE t.tenant_id = p_tenant AND t.reference = p_reference;
        IF FOUND THEN
            IF (v_tx.user_id, v_tx.kind, v_tx.amount) IS DISTINCT FROM (p_user, p_kind, p_amount) THEN
                PERFORM ledger._raise('PB003', 'wallet reference reused with different parameters',
                    format('reference=%s existing=(%s,%s,%s) requested=(%s,%s,%s)', p_reference,
                           v_tx.user_id, v_tx.kind, v_tx.amount, p_user, p_kind, p_amount),
                    'A reference names one top-up or purchase; retry it with exactly the same user and amount.');
            END IF;
            RETURN QUERY SELECT * FROM wallet._tx_out(p_tenant, p_reference, true);
            RETURN;
        END IF;
        PERFORM ledger._raise('PB005', 'wallet not found', format('user=%s', p_user),
            'Open it first with wallet.open.');
    END IF;

    v_codes := CASE p_kind
        WHEN 'topup' THEN ARRAY[wallet._funding_account(v_wallet.currency), v_wallet.account_code]
        ELSE ARRAY[v_wallet.account_code, wallet._revenue_account(v_wallet.currency)] END;
    SELECT e.entry_id INTO v_entry_id
      FROM ledger._post(p_tenant, 'pgb:wallet:tx:' || p_reference, v_codes,
                        ARRAY[-p_amount, p_amount],
                        jsonb_build_object('workflow', 'wallet', 'kind', p_kind,
                                           'user', p_user, 'reference', p_reference),
                        false, NULL, true, false) AS e;
    UPDATE wallet.tx AS t SET entry_id = v_entry_id
     WHERE t.tenant_id = p_tenant AND t.reference = p_reference;
    RETURN QUERY SELECT * FROM wallet._tx_out(p_tenant, p_reference, false);
END
$$;
COMMENT ON FUNCTION wallet._move(text, text, text, bigint, text, jsonb) IS
    'Private: the shared path of wallet.topup and wallet.purchase (claim the reference, post through the kernel).';
-- sql/20_wallet/021_topup.sql
CREATE OR REPLACE FUNCTION wallet.topup(p_tenant text, p_user text, p_amount bigint, p_reference text)
RETURNS TABLE (reference text, user_id text, kind text, amount bigint, status text, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM wallet._move(p_tenant, p_user, 'topup', p_amount, p_reference, NULL);
END
$$;
COMMENT ON FUNCTION wallet.topup(text, text, bigint, text) IS
    'Add p_amount (> 0) to the wallet of p_user from the tenant''s funding account, idempotent by p_reference (unique per tenant across top-ups and purchases): same user and amount -> replayed, different -> PB003. PB005 unknown wallet, PB007 closed wallet account, 22023 malformed input.';
-- sql/20_wallet/022_purchase.sql
CREATE OR REPLACE FUNCTION wallet.purchase(
    p_tenant text, p_user text, p_amount bigint, p_reference text, p_items jsonb DEFAULT '[]')
RETURNS TABLE (reference text, user_id text, kind text, amount bigint, status text, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM wallet._move(p_tenant, p_user, 'purchase', p_amount, p_reference, p_items);
END
$$;
COMMENT ON FUNCTION wallet.purchase(text, text, bigint, text, jsonb) IS
    'Pay p_amount (> 0) from the wallet of p_user to the tenant''s revenue account, idempotent by p_reference: same user and amount -> replayed (items do not count), different -> PB003. PB001 if the wallet cannot pay (its balance never goes below 0), PB005 unknown wallet, PB007 closed wallet account, 22023 malformed input (items must be a JSON array).';
-- sql/20_wallet/023_fail_purchase.sql
CREATE OR REPLACE FUNCTION wallet.fail_purchase(p_tenant text, p_reference text, p_reason text DEFAULT NULL)
RETURNS TABLE (reference text, user_id text, kind text, amount bigint, status text, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_tx wallet.tx;
    v_refund_id bigint;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_reference('reference', p_reference);
    IF length(p_reason) > 1000 THEN
        PERFORM ledger._raise('22023', 'reason is longer than 1000 characters',
            format('length=%s', length(p_reason)));
    END IF;

    -- The purchase row first: concurrent failures of one purchase queue here.
    SELECT * INTO v_tx FROM wallet.tx AS t
     WHERE t.tenant_id = p_tenant AND t.reference = p_reference
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'purchase not found', format('reference=%s', p_reference));
    END IF;
    IF v_tx.status = 'failed' THEN
        RETURN QUERY SELECT * FROM wallet._tx_out(p_tenant, p_reference, true);
        RETURN;
    END IF;
    IF v_tx.kind <> 'purchase' THEN
        PERFORM ledger._raise('PB004', 'only a purchase can fail',
            format('reference=%s kind=%s', p_reference, v_tx.kind));
    END IF;

    -- Refunded through the kernel under a key derived from the reference: exactly once.
    SELECT e.entry_id INTO v_refund_id
      FROM ledger._reverse(p_tenant, 'pgb:wallet:refund:' || p_reference, v_tx.entry_id, NULL,
                           jsonb_build_object('workflow', 'wallet', 'kind', 'refund',
                                              'user', v_tx.user_id, 'reference', p_reference,
                                              'reason', p_reason),
                           false) AS e;
    UPDATE wallet.tx AS t
       SET status = 'failed', refund_entry_id = v_refund_id, failure_reason = p_reason,
           failed_at = clock_timestamp()
     WHERE t.tenant_id = p_tenant AND t.reference = p_reference;
    RETURN QUERY SELECT * FROM wallet._tx_out(p_tenant, p_reference, false);
END
$$;
COMMENT ON FUNCTION wallet.fail_purchase(text, text, text) IS
    'Mark the purchase p_reference failed and refund it to the wallet exactly once (a kernel reversal); again -> replayed. PB005 unknown reference, PB004 for a top-up, PB007 if the wallet account was closed since, 22023 malformed input.';
-- sql/20_wallet/030_history.sql
CREATE OR REPLACE FUNCTION wallet.history(p_tenant text, p_user text)
RETURNS TABLE (reference text, user_id text, kind text, amount bigint, status text, replayed boolean)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('user', p_user, false);
    IF NOT EXISTS (SELECT FROM wallet.wallet AS w WHERE w.tenant_id = p_tenant AND w.user_id = p_user) THEN
        PERFORM ledger._raise('PB005', 'wallet not found', format('user=%s', p_user),
            'Open it first with wallet.open.');
    END IF;
    RETURN QUERY
        SELECT t.reference, t.user_id, t.kind, t.amount, t.status, false
          FROM wallet.tx AS t
         WHERE t.tenant_id = p_tenant AND t.user_id = p_user
         ORDER BY t.tx_no;
END
$$;
COMMENT ON FUNCTION wallet.history(text, text) IS
    'Top-ups and purchases of p_user''s wallet, oldest first (replayed is false); PB005 if the user has no wallet in this tenant.';
-- sql/30_booking/000_booking_out.sql
-- The one place that shapes a booking row for callers.
CREATE OR REPLACE FUNCTION booking._booking_out(
    p_tenant text, p_booking text, p_replayed boolean, p_already_paid boolean)
RETURNS TABLE (booking text, status text, total bigint, deposit_paid bigint,
               balance_paid_amount bigint, balance_paid_at timestamptz, outstanding bigint,
               replayed boolean, already_paid boolean)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT b.booking_id, b.status, b.total, b.deposit_paid, b.balance_paid_amount,
           b.balance_paid_at, b.total - b.deposit_paid - b.balance_paid_amount,
           p_replayed, p_already_paid
      FROM booking.booking AS b
     WHERE b.tenant_id = p_tenant AND b.booking_id = p_booking
$$;
COMMENT ON FUNCTION booking._booking_out(text, text, boolean, boolean) IS
    'Private: the booking row as the API returns it (outstanding = total - deposit_paid - balance_paid_amount).';
-- sql/30_booking/002_clearing_account.sql
-- Where payment-provider money arrives from, one per currency, no floor or ceiling.
-- Outside the pgb:booking: namespace, so no booking id can ever name it.
CREATE OR REPLACE FUNCTION booking._clearing_account(p_currency text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'pgb:booking-clearing:' || p_currency
$$;
COMMENT ON FUNCTION booking._clearing_account(text) IS
    'Private: the per-currency provider clearing account payments are booked from (no floor, no ceiling).';
-- sql/30_booking/003_booking_account.sql
CREATE OR REPLACE FUNCTION booking._booking_account(p_booking text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'pgb:booking:' || p_booking
$$;
COMMENT ON FUNCTION booking._booking_account(text) IS
    'Private: the booking''s own account (min_balance 0, max_balance = total, so it can never hold more than the price).';
-- sql/30_booking/004_known_payment.sql
-- The common front of record_deposit and complete_balance_payment, after the booking row is
-- locked (or found missing): the payment reference, then the booking's existence.
-- Returns the payment already holding p_payment_ref (a replay), or NULL for a new payment.
CREATE OR REPLACE FUNCTION booking._known_payment(
    p_tenant text, p_booking text, p_kind text, p_amount bigint, p_payment_ref text,
    p_booking_found boolean)
RETURNS booking.payment
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_payment booking.payment;
BEGIN
    SELECT * INTO v_payment FROM booking.payment AS p
     WHERE p.tenant_id = p_tenant AND p.payment_ref = p_payment_ref;
    IF FOUND THEN
        IF (v_payment.booking_id, v_payment.kind, v_payment.amount)
           IS DISTINCT FROM (p_booking, p_kind, p_amount) THEN
            PERFORM ledger._raise('PB003', 'payment_ref reused with different parameters',
                format('payment_ref=%s existing=(%s,%s,%s) requested=(%s,%s,%s)', p_payment_ref,
                       v_payment.booking_id, v_payment.kind, v_payment.amount,
                       p_booking, p_kind, p_amount),
                'A payment_ref names one payment; the provider retries it with the same booking and amount.');
        END IF;
        RETURN v_payment;
    END IF;
    IF NOT p_booking_found THEN
        PERFORM ledger._raise('PB005', 'booking not found', format('booking=%s', p_booking),
            'Create it first with booking.create.');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION booking._known_payment(text, text, text, bigint, text, boolean) IS
    'Private: the payment already recorded under p_payment_ref (PB003 if it differs), else PB005 for a missing booking, else NULL.';
-- sql/30_booking/005_record_payment.sql
-- Claims p_payment_ref and, for an applied payment, books it from the clearing account into
-- the booking account under a key derived from the reference. The booking row is locked.
-- Returns NULL when the claim lost to a concurrent payment of another booking that has since
-- committed the same reference; the caller then replays or raises PB003.
CREATE OR REPLACE FUNCTION booking._record_payment(
    p_tenant text, p_booking booking.booking, p_kind text, p_amount bigint, p_payment_ref text,
    p_applied boolean, p_reason text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_payment_no bigint;
    v_entry_id bigint;
BEGIN
    INSERT INTO booking.payment AS p (tenant_id, payment_ref, booking_id, kind, amount, applied, reason)
    VALUES (p_tenant, p_payment_ref, p_booking.booking_id, p_kind, p_amount, p_applied, p_reason)
    ON CONFLICT ON CONSTRAINT payment_pkey DO NOTHING
    RETURNING p.payment_no INTO v_payment_no;
    IF v_payment_no IS NULL OR NOT p_applied THEN
        RETURN v_payment_no;
    END IF;
    SELECT e.entry_id INTO v_entry_id
      FROM ledger._post(p_tenant, 'pgb:booking:pay:' || p_payment_ref,
                        ARRAY[booking._clearing_account(p_booking.currency),
                              booking._booking_account(p_booking.booking_id)],
                        ARRAY[-p_amount, p_amount],
                        jsonb_build_object('workflow', 'booking', 'kind', p_kind,
                                           'booking', p_booking.booking_id,
                                           'payment_ref', p_payment_ref),
                        false, NULL, true, false) AS e;
    UPDATE booking.payment AS p SET entry_id = v_entry_id
     WHERE p.tenant_id = p_tenant AND p.payment_ref = p_payment_ref;
    RETURN v_payment_no;
END
$$;
COMMENT ON FUNCTION booking._record_payment(text, booking.booking, text, bigint, text, boolean, text) IS
    'Private: claim a payment_ref and, when applied, book the payment from the provider clearing account into the booking account.';
-- sql/30_booking/010_create.sql
CREATE OR REPLACE FUNCTION booking.create(
    p_tenant text, p_booking text, p_total bigint, p_deposit bigint, p_currency text)
RETURNS TABLE (booking text, status text, total bigint, deposit_paid bigint,
               balance_paid_amount bigint, balance_paid_at timestamptz, outstanding bigint,
               replayed boolean, already_paid boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_existing booking.booking;
    v_claimed boolean;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_reference('booking', p_booking);
    PERFORM ledger._check_amount('total', p_total);
    PERFORM ledger._check_amount('deposit', p_deposit);
    IF p_deposit >= p_total THEN
        PERFORM ledger._raise('22023', 'deposit must be less than total',
            format('deposit=%s total=%s', p_deposit, p_total),
            'The balance payment pays total - deposit, which must be > 0.');
    END IF;
    PERFORM ledger._check_currency(p_currency);

    INSERT INTO booking.booking AS b (tenant_id, booking_id, currency, total, deposit)
    VALUES (p_tenant, p_booking, p_currency, p_total, p_deposit)
    ON CONFLICT ON CONSTRAINT booking_pkey DO NOTHING
    RETURNING true INTO v_claimed;
    IF v_claimed IS NULL THEN
        -- A separate statement: a fresh snapshot sees the winner's committed row.
        SELECT * INTO v_existing FROM booking.booking AS b
         WHERE b.tenant_id = p_tenant AND b.booking_id = p_booking;
        PERFORM ledger._check_definition('booking', p_booking,
            ARRAY[v_existing.total::text, v_existing.deposit::text, v_existing.currency],
            ARRAY[p_total::text, p_deposit::text, p_currency]);
        RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking, true, false);
        RETURN;
    END IF;

    PERFORM FROM ledger._open_account(p_tenant, booking._clearing_account(p_currency), p_currency,
        NULL, NULL, jsonb_build_object('workflow', 'booking', 'role', 'clearing'));
    -- The ceiling is the price: whatever goes wrong above, the booking account cannot hold more.
    PERFORM FROM ledger._open_account(p_tenant, booking._booking_account(p_booking), p_currency,
        0, p_total, jsonb_build_object('workflow', 'booking', 'booking', p_booking));
    RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking, false, false);
END
$$;
COMMENT ON FUNCTION booking.create(text, text, bigint, bigint, text) IS
    'Create booking p_booking (status PENDING) priced p_total with a deposit of p_deposit (0 < deposit < total) in p_currency; again with the same definition returns it (replayed), with another PB003. 22023 malformed input.';
-- sql/30_booking/020_record_deposit.sql
CREATE OR REPLACE FUNCTION booking.record_deposit(
    p_tenant text, p_booking text, p_amount bigint, p_payment_ref text)
RETURNS TABLE (booking text, status text, total bigint, deposit_paid bigint,
               balance_paid_amount bigint, balance_paid_at timestamptz, outstanding bigint,
               replayed boolean, already_paid boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_booking booking.booking;
    v_payment booking.payment;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_reference('booking', p_booking);
    PERFORM ledger._check_amount('amount', p_amount);
    PERFORM ledger._check_reference('payment_ref', p_payment_ref);

    -- The booking row first: every decision about this booking is taken under its lock.
    SELECT * INTO v_booking FROM booking.booking AS b
     WHERE b.tenant_id = p_tenant AND b.booking_id = p_booking
       FOR UPDATE;
    v_payment := booking._known_payment(p_tenant, p_booking, 'deposit', p_amount, p_payment_ref,
                                        v_booking.booking_id IS NOT NULL);
    IF v_payment.payment_ref IS NOT NULL THEN
        RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking, true, false);
        RETURN;
    END IF;
    IF v_booking.status <> 'PENDING' THEN
        PERFORM ledger._raise('PB004', 'the deposit of this booking is already paid',
            format('booking=%s status=%s deposit_paid=%s', p_booking, v_booking.status,
                   v_booking.deposit_paid));
    END IF;
    IF p_amount > v_booking.deposit THEN
        PERFORM ledger._raise('PB002', 'deposit payment exceeds the deposit due',
            format('booking=%s deposit=%s requested=%s', p_booking, v_booking.deposit, p_amount));
    ELSIF p_amount < v_booking.deposit THEN
        PERFORM ledger._raise('22023', 'deposit payment is less than the deposit due',
            format('booking=%s deposit=%s requested=%s', p_booking, v_booking.deposit, p_amount),
            'The deposit is paid in one payment of exactly the deposit amount.');
    END IF;

    IF booking._record_payment(p_tenant, v_booking, 'deposit', p_amount, p_payment_ref, true, NULL)
       IS NULL THEN
        -- Lost the claim to another booking's payment with this ref: PB003 (never NULL here).
        PERFORM booking._known_payment(p_tenant, p_booking, 'deposit', p_amount, p_payment_ref, true);
        RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking, true, false);
        RETURN;
    END IF;
    UPDATE booking.booking AS b
       SET status = 'DEPOSIT_PAID', deposit_paid = p_amount, deposit_paid_at = clock_timestamp()
     WHERE b.tenant_id = p_tenant AND b.booking_id = p_booking;
    RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking, false, false);
END
$$;
COMMENT ON FUNCTION booking.record_deposit(text, text, bigint, text) IS
    'Record the deposit payment p_payment_ref of exactly the deposit amount (more -> PB002, less -> 22023) and move the booking to DEPOSIT_PAID; the same payment_ref again -> replayed, reused otherwise -> PB003. PB005 unknown booking, PB004 deposit already paid.';
-- sql/30_booking/021_complete_balance_payment.sql
CREATE OR REPLACE FUNCTION booking.complete_balance_payment(
    p_tenant text, p_booking text, p_amount bigint, p_payment_ref text)
RETURNS TABLE (booking text, status text, total bigint, deposit_paid bigint,
               balance_paid_amount bigint, balance_paid_at timestamptz, outstanding bigint,
               replayed boolean, already_paid boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_booking booking.booking;
    v_payment booking.payment;
    v_outstanding bigint;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_reference('booking', p_booking);
    PERFORM ledger._check_amount('amount', p_amount);
    PERFORM ledger._check_reference('payment_ref', p_payment_ref);

    -- The booking row first: concurrent webhooks for this booking decide one after another,
    -- each seeing what the previous one committed.
    SELECT * INTO v_booking FROM booking.booking AS b
     WHERE b.tenant_id = p_tenant AND b.booking_id = p_booking
       FOR UPDATE;
    v_payment := booking._known_payment(p_tenant, p_booking, 'balance', p_amount, p_payment_ref,
                                        v_booking.booking_id IS NOT NULL);
    IF v_payment.payment_ref IS NOT NULL THEN
        RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking, true, NOT v_payment.applied);
        RETURN;
    END IF;
    IF v_booking.status = 'PENDING' THEN
        PERFORM ledger._raise('PB004', 'the deposit of this booking is not paid yet',
            format('booking=%s status=%s', p_booking, v_booking.status),
            'Nothing was recorded: the provider''s retry applies the payment once the deposit is in.');
    END IF;

    IF v_booking.status = 'PAID' THEN
        -- Paid already by another payment: keep this one, unapplied, for a refund.
        IF booking._record_payment(p_tenant, v_booking, 'balance', p_amount, p_payment_ref, false,
                                   'booking already paid') IS NULL THEN
            PERFORM booking._known_payment(p_tenant, p_booking, 'balance', p_amount, p_payment_ref, true);
            RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking, true, true);
            RETURN;
        END IF;
        RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking, false, true);
        RETURN;
    END IF;

    v_outstanding := v_booking.total - v_booking.deposit_paid;
    IF p_amount > v_outstanding THEN
        PERFORM ledger._raise('PB002', 'balance payment exceeds the outstanding balance',
            format('booking=%s outstanding=%s requested=%s', p_booking, v_outstanding, p_amount));
    ELSIF p_amount < v_outstanding THEN
        PERFORM ledger._raise('22023', 'balance payment is less than the outstanding balance',
            format('booking=%s outstanding=%s requested=%s', p_booking, v_outstanding, p_amount),
            'The balance is paid in one payment of exactly the outstanding amount.');
    END IF;

    IF booking._record_payment(p_tenant, v_booking, 'balance', p_amount, p_payment_ref, true, NULL)
       IS NULL THEN
        PERFORM booking._known_payment(p_tenant, p_booking, 'balance', p_amount, p_payment_ref, true);
        RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking, true, false);
        RETURN;
    END IF;
    UPDATE booking.booking AS b
       SET status = 'PAID', balance_paid_amount = p_amount, balance_paid_at = clock_timestamp()
     WHERE b.tenant_id = p_tenant AND b.booking_id = p_booking;
    RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking, false, false);
END
$$;
COMMENT ON FUNCTION booking.complete_balance_payment(text, text, bigint, text) IS
    'Apply the balance payment p_payment_ref exactly once: it must equal the outstanding balance (more -> PB002, less -> 22023) and moves the booking to PAID. The same payment_ref again -> replayed; another payment_ref once PAID -> already_paid = true, no ledger movement, kept in booking.unapplied_payments whatever its amount. PB004 before the deposit (nothing recorded), PB005 unknown booking, PB003 payment_ref reused with different parameters.';
-- sql/30_booking/030_get.sql
CREATE OR REPLACE FUNCTION booking.get(p_tenant text, p_booking text)
RETURNS TABLE (booking text, status text, total bigint, deposit_paid bigint,
               balance_paid_amount bigint, balance_paid_at timestamptz, outstanding bigint,
               replayed boolean, already_paid boolean)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('booking', p_booking, false);
    RETURN QUERY SELECT * FROM booking._booking_out(p_tenant, p_booking, false, false);
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'booking not found', format('booking=%s', p_booking));
    END IF;
END
$$;
COMMENT ON FUNCTION booking.get(text, text) IS
    'The booking: status, total, deposit_paid, balance_paid_amount/at and outstanding; PB005 if unknown in this tenant.';
-- sql/30_booking/031_unapplied_payments.sql
CREATE OR REPLACE FUNCTION booking.unapplied_payments(p_tenant text, p_booking text)
RETURNS TABLE (payment_ref text, amount bigint, received_at timestamptz, reason text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('booking', p_booking, false);
    IF NOT EXISTS (SELECT FROM booking.booking AS b
                    WHERE b.tenant_id = p_tenant AND b.booking_id = p_booking) THEN
        PERFORM ledger._raise('PB005', 'booking not found', format('booking=%s', p_booking));
    END IF;
    RETURN QUERY
        SELECT p.payment_ref, p.amount, p.received_at, p.reason
          FROM booking.payment AS p
         WHERE p.tenant_id = p_tenant AND p.booking_id = p_booking AND NOT p.applied
         ORDER BY p.payment_no;
END
$$;
COMMENT ON FUNCTION booking.unapplied_payments(text, text) IS
    'Payments received for p_booking that were not applied (a balance payment after the booking was PAID), oldest first, to be refunded; PB005 if the booking is unknown.';
-- sql/40_fees/000_revenue_account.sql
CREATE OR REPLACE FUNCTION fees._revenue_account(p_currency text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'pgb:fees:revenue:' || p_currency
$$;
COMMENT ON FUNCTION fees._revenue_account(text) IS
    'Private: code of the per-currency platform revenue account service fees are paid to (no floor, no ceiling).';
-- sql/40_fees/001_load_out.sql
-- The one place that shapes a load row for callers.
CREATE OR REPLACE FUNCTION fees._load_out(p_tenant text, p_load text, p_replayed boolean)
RETURNS TABLE (load text, status text, fee_status text, shipper_fee bigint, carrier_fee bigint,
               fee_entry_id bigint, refund_entry_id bigint, replayed boolean)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT l.load_id, l.status, l.fee_status, l.shipper_fee, l.carrier_fee, l.fee_entry_id,
           l.refund_entry_id, p_replayed
      FROM fees.load AS l
     WHERE l.tenant_id = p_tenant AND l.load_id = p_load
$$;
COMMENT ON FUNCTION fees._load_out(text, text, boolean) IS
    'Private: a load row as the API returns it (fees NULL until deducted).';
-- sql/40_fees/002_lock_load.sql
-- Every call that changes a load takes its row lock first (before any key or account).
CREATE OR REPLACE FUNCTION fees._lock_load(p_tenant text, p_load text)
RETURNS fees.load
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_load fees.load;
BEGIN
    SELECT * INTO v_load FROM fees.load AS l
     WHERE l.tenant_id = p_tenant AND l.load_id = p_load
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'load not found', format('load=%s', p_load),
            'Create it first with fees.create_load.');
    END IF;
    RETURN v_load;
END
$$;
COMMENT ON FUNCTION fees._lock_load(text, text) IS
    'Private: lock a load row and return it as committed; PB005 if unknown in the tenant.';
-- sql/40_fees/010_create_load.sql
CREATE OR REPLACE FUNCTION fees.create_load(
    p_tenant text, p_load text, p_shipper text, p_carrier text, p_currency text)
RETURNS TABLE (load text, status text, fee_status text, shipper_fee bigint, carrier_fee bigint,
               fee_entry_id bigint, refund_entry_id bigint, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_claimed boolean;
    v_existing fees.load;
    v_mismatch text;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('load', p_load, false);
    PERFORM ledger._check_reference('shipper', p_shipper);
    PERFORM ledger._check_reference('carrier', p_carrier);
    PERFORM ledger._check_currency(p_currency);
    IF p_shipper = p_carrier THEN
        PERFORM ledger._raise('22023', 'shipper and carrier must be different wallets',
            format('shipper=%s carrier=%s', p_shipper, p_carrier));
    END IF;

    INSERT INTO fees.load AS l (tenant_id, load_id, shipper, carrier, currency)
    VALUES (p_tenant, p_load, p_shipper, p_carrier, p_currency)
    ON CONFLICT ON CONSTRAINT load_pkey DO NOTHING
    RETURNING true INTO v_claimed;
    IF v_claimed IS NULL THEN
        -- A separate statement: a fresh snapshot sees the load a concurrent call committed.
        SELECT * INTO v_existing FROM fees.load AS l
         WHERE l.tenant_id = p_tenant AND l.load_id = p_load;
        PERFORM ledger._check_definition('load', p_load,
            ARRAY[v_existing.shipper, v_existing.carrier, v_existing.currency],
            ARRAY[p_shipper, p_carrier, p_currency]);
        RETURN QUERY SELECT * FROM fees._load_out(p_tenant, p_load, true);
        RETURN;
    END IF;

    -- Both parties pay from their wallets, in the load's currency (PB005, then PB006).
    SELECT string_agg(format('%s=%s', w.party, a.currency), ' ')
      INTO v_mismatch
      FROM (VALUES ('shipper', wallet._account(p_tenant, p_shipper)),
                   ('carrier', wallet._account(p_tenant, p_carrier))) AS w(party, code)
      JOIN ledger._account_out(p_tenant, w.code) AS a ON true
     WHERE a.currency <> p_currency;
    IF v_mismatch IS NOT NULL THEN
        PERFORM ledger._raise('PB006', 'a wallet of the load is in another currency',
            format('load_currency=%s %s', p_currency, v_mismatch));
    END IF;
    PERFORM FROM ledger._open_account(p_tenant, fees._revenue_account(p_currency), p_currency,
        NULL, NULL, jsonb_build_object('workflow', 'fees', 'role', 'revenue'));
    RETURN QUERY SELECT * FROM fees._load_out(p_tenant, p_load, false);
END
$$;
COMMENT ON FUNCTION fees.create_load(text, text, text, text, text) IS
    'Create a load between the wallets of p_shipper and p_carrier (status CREATED, fee_status NONE). Same definition again -> the load, replayed; different -> PB003; PB005 unknown wallet; PB006 a wallet in another currency.';
-- sql/40_fees/011_complete_load.sql
CREATE OR REPLACE FUNCTION fees.complete_load(p_tenant text, p_load text)
RETURNS TABLE (load text, status text, fee_status text, shipper_fee bigint, carrier_fee bigint,
               fee_entry_id bigint, refund_entry_id bigint, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_load fees.load;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('load', p_load, false);
    v_load := fees._lock_load(p_tenant, p_load);
    IF v_load.status = 'COMPLETED' THEN
        RETURN QUERY SELECT * FROM fees._load_out(p_tenant, p_load, true);
        RETURN;
    END IF;
    UPDATE fees.load AS l SET status = 'COMPLETED', completed_at = clock_timestamp()
     WHERE l.tenant_id = p_tenant AND l.load_id = p_load;
    RETURN QUERY SELECT * FROM fees._load_out(p_tenant, p_load, false);
END
$$;
COMMENT ON FUNCTION fees.complete_load(text, text) IS
    'Mark a load COMPLETED; it never depends on fees (they are deducted separately). Again -> the load unchanged, replayed; PB005 unknown load.';
-- sql/40_fees/020_deduct_service_fee.sql
CREATE OR REPLACE FUNCTION fees.deduct_service_fee(
    p_tenant text, p_load text, p_shipper_fee bigint, p_carrier_fee bigint)
RETURNS TABLE (load text, status text, fee_status text, shipper_fee bigint, carrier_fee bigint,
               fee_entry_id bigint, refund_entry_id bigint, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_load fees.load;
    v_codes text[];
    v_amounts bigint[];
    v_entry_id bigint;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('load', p_load, false);
    IF p_shipper_fee IS NULL OR p_carrier_fee IS NULL OR p_shipper_fee < 0 OR p_carrier_fee < 0 THEN
        PERFORM ledger._raise('22023', 'fees must be >= 0',
            format('shipper_fee=%s carrier_fee=%s', coalesce(p_shipper_fee::text, 'NULL'),
                   coalesce(p_carrier_fee::text, 'NULL')));
    END IF;
    IF p_shipper_fee::numeric + p_carrier_fee NOT BETWEEN 1 AND 9223372036854775807 THEN
        PERFORM ledger._raise('22023', 'the fees must add up to a positive bigint',
            format('shipper_fee=%s carrier_fee=%s', p_shipper_fee, p_carrier_fee));
    END IF;

    v_load := fees._lock_load(p_tenant, p_load);
    IF v_load.fee_status <> 'NONE' THEN
        IF (v_load.shipper_fee, v_load.carrier_fee) <> (p_shipper_fee, p_carrier_fee) THEN
            PERFORM ledger._raise('PB003', 'service fee already deducted with different fees',
                format('load=%s deducted=(%s,%s) requested=(%s,%s)', p_load, v_load.shipper_fee,
                       v_load.carrier_fee, p_shipper_fee, p_carrier_fee));
        END IF;
        RETURN QUERY SELECT * FROM fees._load_out(p_tenant, p_load, true);
        RETURN;
    END IF;
    IF v_load.status <> 'COMPLETED' THEN
        PERFORM ledger._raise('PB004', 'service fees are deducted from completed loads only',
            format('load=%s status=%s', p_load, v_load.status), 'Complete it first with fees.complete_load.');
    END IF;

    -- One entry: both wallets down, revenue up; a zero fee is no leg at all.
    SELECT array_agg(u.code ORDER BY u.ord), array_agg(u.amount ORDER BY u.ord)
      INTO v_codes, v_amounts
      FROM unnest(ARRAY[wallet._account(p_tenant, v_load.shipper),
                        wallet._account(p_tenant, v_load.carrier),
                        fees._revenue_account(v_load.currency)],
                  ARRAY[-p_shipper_fee, -p_carrier_fee, p_shipper_fee + p_carrier_fee])
           WITH ORDINALITY AS u(code, amount, ord)
     WHERE u.amount <> 0;
    SELECT e.entry_id INTO v_entry_id
      FROM ledger._post(p_tenant, format('pgb:fees:%s:fee', v_load.load_no), v_codes, v_amounts,
                        jsonb_build_object('workflow', 'fees', 'load', p_load,
                                           'shipper_fee', p_shipper_fee, 'carrier_fee', p_carrier_fee),
                        false, NULL, true, false) AS e;
    UPDATE fees.load AS l
       SET fee_status = 'DEDUCTED', shipper_fee = p_shipper_fee, carrier_fee = p_carrier_fee,
           fee_entry_id = v_entry_id
     WHERE l.tenant_id = p_tenant AND l.load_id = p_load;
    RETURN QUERY SELECT * FROM fees._load_out(p_tenant, p_load, false);
END
$$;
COMMENT ON FUNCTION fees.deduct_service_fee(text, text, bigint, bigint) IS
    'Deduct the service fees of a COMPLETED load (PB004 otherwise): one ledger entry debits the shipper''s and carrier''s wallets and credits platform revenue, with the load update, or nothing (PB001 if a wallet cannot pay). Fees >= 0 with a positive total (22023). Again -> replayed; different fees -> PB003.';
-- sql/40_fees/021_refund_service_fee.sql
CREATE OR REPLACE FUNCTION fees.refund_service_fee(p_tenant text, p_load text, p_reason text DEFAULT NULL)
RETURNS TABLE (load text, status text, fee_status text, shipper_fee bigint, carrier_fee bigint,
               fee_entry_id bigint, refund_entry_id bigint, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_load fees.load;
    v_entry_id bigint;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('load', p_load, false);
    IF length(p_reason) > 1000 THEN
        PERFORM ledger._raise('22023', 'reason is longer than 1000 characters',
            format('length=%s', length(p_reason)));
    END IF;

    v_load := fees._lock_load(p_tenant, p_load);
    IF v_load.fee_status = 'REFUNDED' THEN
        RETURN QUERY SELECT * FROM fees._load_out(p_tenant, p_load, true);
        RETURN;
    END IF;
    IF v_load.fee_status = 'NONE' THEN
        PERFORM ledger._raise('PB004', 'no service fee was deducted for this load',
            format('load=%s fee_status=%s', p_load, v_load.fee_status));
    END IF;

    -- The kernel reversal of the fee entry: every wallet gets back what it paid.
    SELECT e.entry_id INTO v_entry_id
      FROM ledger._reverse(p_tenant, format('pgb:fees:%s:refund', v_load.load_no), v_load.fee_entry_id,
                           NULL, jsonb_build_object('workflow', 'fees', 'load', p_load, 'reason', p_reason),
                           false) AS e;
    UPDATE fees.load AS l
       SET fee_status = 'REFUNDED', refund_entry_id = v_entry_id, refund_reason = p_reason
     WHERE l.tenant_id = p_tenant AND l.load_id = p_load;
    RETURN QUERY SELECT * FROM fees._load_out(p_tenant, p_load, false);
END
$$;
COMMENT ON FUNCTION fees.refund_service_fee(text, text, text) IS
    'Refund the deducted service fees of a load: the kernel reversal of its fee entry, exactly once. Again -> replayed; before a deduction -> PB004; PB005 unknown load.';
-- sql/40_fees/030_get_load.sql
CREATE OR REPLACE FUNCTION fees.get_load(p_tenant text, p_load text)
RETURNS TABLE (load text, status text, fee_status text, shipper_fee bigint, carrier_fee bigint,
               fee_entry_id bigint, refund_entry_id bigint, replayed boolean)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('load', p_load, false);
    RETURN QUERY SELECT * FROM fees._load_out(p_tenant, p_load, false);
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'load not found', format('load=%s', p_load));
    END IF;
END
$$;
COMMENT ON FUNCTION fees.get_load(text, text) IS 'The load with its status and fees; PB005 if unknown in this tenant.';
-- sql/40_fees/031_platform_revenue.sql
CREATE OR REPLACE FUNCTION fees.platform_revenue(p_tenant text, p_currency text)
RETURNS bigint
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_currency(p_currency);
    RETURN coalesce((SELECT a.balance FROM ledger._account_out(p_tenant, fees._revenue_account(p_currency)) AS a), 0);
END
$$;
COMMENT ON FUNCTION fees.platform_revenue(text, text) IS
    'Service fees kept by the platform in p_currency (deducted minus refunded); 0 before any fee.';
-- sql/50_tuition/000_accounts.sql
-- The ledger accounts behind tuition (see migrations/0005_tuition.sql for the money model).
CREATE OR REPLACE FUNCTION tuition._clearing_account(p_currency text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'pgb:tuition:clearing:' || p_currency
$$;
COMMENT ON FUNCTION tuition._clearing_account(text) IS
    'Private: code of the per-currency clearing account (no floor, no ceiling) that tuition payments come from.';
-- sql/50_tuition/001_student_account.sql
CREATE OR REPLACE FUNCTION tuition._student_account(p_assessment_id bigint)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'pgb:tuition:student:' || p_assessment_id
$$;
COMMENT ON FUNCTION tuition._student_account(bigint) IS
    'Private: code of an assessment''s student account (floor 0, ceiling = the assessed total): balance = paid, pending_in = awaiting approval.';
-- sql/50_tuition/010_terms.sql
-- The state of every term of one assessment, derived from the allocations of its payments.
-- submit_payment reads its rules from here and overview returns it, so the two always agree.
CREATE OR REPLACE FUNCTION tuition._terms(p_tenant text, p_assessment_id bigint)
RETURNS TABLE (term_no int, name text, amount bigint, paid bigint, pending bigint, remaining bigint,
               effective_remaining bigint, status text, selectable boolean, blocked_reason text)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH sums AS (
        SELECT t.term_no, t.name, t.amount,
               coalesce(sum(a.amount) FILTER (WHERE p.status = 'paid'), 0)::bigint AS paid,
               coalesce(sum(a.amount) FILTER (WHERE p.status = 'awaiting_approval'), 0)::bigint AS pending
          FROM tuition.term AS t
          LEFT JOIN tuition.allocation AS a
            ON a.tenant_id = t.tenant_id AND a.assessment_id = t.assessment_id AND a.term_no = t.term_no
          LEFT JOIN tuition.payment AS p
            ON p.tenant_id = a.tenant_id AND p.payment_id = a.payment_id
         WHERE t.tenant_id = p_tenant AND t.assessment_id = p_assessment_id
         GROUP BY t.term_no, t.name, t.amount
    ), state AS (
        SELECT s.*, s.amount - s.paid AS remaining, s.amount - s.paid - s.pending AS effective_remaining,
               min(s.term_no) FILTER (WHERE s.amount - s.paid - s.pending > 0) OVER () AS first_open
          FROM sums AS s
    )
    SELECT s.term_no, s.name, s.amount, s.paid, s.pending, s.remaining, s.effective_remaining,
           CASE WHEN s.remaining = 0 THEN 'paid' WHEN s.pending > 0 THEN 'pending' ELSE 'unpaid' END,
           s.term_no = s.first_open AND s.pending = 0,
           CASE
               WHEN s.remaining = 0 THEN 'This term is fully paid.'
               WHEN s.term_no = s.first_open AND s.pending = 0 THEN NULL
               WHEN s.term_no = s.first_open THEN
                   'A payment for this term is awaiting approval; it can be paid further once that payment is approved or rejected.'
               WHEN s.effective_remaining = 0 THEN
                   'Payments awaiting approval cover the rest of this term.'
               ELSE format('Terms are paid in order: pay term %s first.', s.first_open)
           END
      FROM state AS s
     ORDER BY s.term_no
$$;
COMMENT ON FUNCTION tuition._terms(text, bigint) IS
    'Private: per term amount, paid, pending (allocations awaiting approval), remaining, effective_remaining, status, selectable and blocked_reason.';
-- sql/50_tuition/020_payment_out.sql
-- The one place that shapes a payment row for callers.
CREATE OR REPLACE FUNCTION tuition._payment_out(p_tenant text, p_payment_id bigint, p_replayed boolean)
RETURNS TABLE (payment_id bigint, reference text, term_no int, amount bigint, status text,
               allocations jsonb, replayed boolean)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.payment_id, p.reference, p.term_no, p.amount, p.status,
           (SELECT jsonb_agg(jsonb_build_object('term_no', a.term_no, 'amount', a.amount)
                             ORDER BY a.term_no)
              FROM tuition.allocation AS a
             WHERE a.tenant_id = p.tenant_id AND a.payment_id = p.payment_id),
           p_replayed
      FROM tuition.payment AS p
     WHERE p.tenant_id = p_tenant AND p.payment_id = p_payment_id
$$;
COMMENT ON FUNCTION tuition._payment_out(text, bigint, boolean) IS
    'Private: a payment row as the API returns it, allocations in term order.';
-- sql/50_tuition/021_payment_replay.sql
-- Called once a reference is known to be taken. A separate statement from the claim, so
-- under READ COMMITTED it sees the winner's committed payment.
CREATE OR REPLACE FUNCTION tuition._payment_replay(
    p_tenant text, p_reference text, p_assessment_id bigint, p_term_no int, p_amount bigint)
RETURNS TABLE (payment_id bigint, reference text, term_no int, amount bigint, status text,
               allocations jsonb, replayed boolean)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_payment tuition.payment;
BEGIN
    SELECT * INTO v_payment FROM tuition.payment AS p
     WHERE p.tenant_id = p_tenant AND p.reference = p_reference;
    IF (v_payment.assessment_id, v_payment.term_no, v_payment.amount)
       IS DISTINCT FROM (p_assessment_id, p_term_no, p_amount) THEN
        PERFORM ledger._raise('PB003', 'payment reference reused with different parameters',
            format('reference=%s payment_id=%s term_no=%s amount=%s requested_term_no=%s requested_amount=%s',
                   p_reference, v_payment.payment_id, v_payment.term_no, v_payment.amount,
                   p_term_no, p_amount),
            'Use a new reference for a new payment; retry with exactly the same parameters.');
    END IF;
    RETURN QUERY SELECT * FROM tuition._payment_out(p_tenant, v_payment.payment_id, true);
END
$$;
COMMENT ON FUNCTION tuition._payment_replay(text, text, bigint, int, bigint) IS
    'Private: the payment already holding this reference, replayed, or PB003 when student, term or amount differ.';
-- sql/50_tuition/030_lock_payment.sql
-- Approve and reject change what submit_payment counts as pending, so they take the
-- assessment's lock first, like submit_payment, then the payment's.
CREATE OR REPLACE FUNCTION tuition._lock_payment(p_tenant text, p_payment_id bigint)
RETURNS tuition.payment
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_assessment_id bigint;
    v_payment tuition.payment;
BEGIN
    SELECT p.assessment_id INTO v_assessment_id FROM tuition.payment AS p
     WHERE p.tenant_id = p_tenant AND p.payment_id = p_payment_id;
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'payment not found', format('payment_id=%s', p_payment_id));
    END IF;
    PERFORM FROM tuition.assessment AS a
     WHERE a.tenant_id = p_tenant AND a.assessment_id = v_assessment_id
       FOR UPDATE;
    -- A new statement: it sees a decision committed while this call waited for the lock.
    SELECT * INTO v_payment FROM tuition.payment AS p
     WHERE p.tenant_id = p_tenant AND p.payment_id = p_payment_id
       FOR UPDATE;
    RETURN v_payment;
END
$$;
COMMENT ON FUNCTION tuition._lock_payment(text, bigint) IS
    'Private: lock a payment''s assessment, then the payment (PB005 if unknown in the tenant); returns it as committed.';
-- sql/50_tuition/100_create_assessment.sql
CREATE OR REPLACE FUNCTION tuition.create_assessment(p_tenant text, p_student text, p_currency text, p_terms jsonb)
RETURNS TABLE (assessment_id bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_term jsonb;
    v_no int := 0;
    v_amount numeric;
    v_total numeric := 0;
    v_terms jsonb := '[]';
    v_id bigint;
    v_existing_currency text;
    v_existing_terms jsonb;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('student', p_student, false);
    PERFORM ledger._check_currency(p_currency);
    IF p_terms IS NULL OR jsonb_typeof(p_terms) <> 'array' OR jsonb_array_length(p_terms) = 0 THEN
        PERFORM ledger._raise('22023', 'terms must be a non-empty JSON array',
            format('terms=%s', coalesce(left(p_terms::text, 100), 'NULL')),
            'Pass [{"name": "Upon Registration", "amount": 654471}, ...] in term order.');
    END IF;
    FOR v_term IN SELECT e FROM jsonb_array_elements(p_terms) AS e LOOP
        v_no := v_no + 1;
        IF jsonb_typeof(v_term) IS DISTINCT FROM 'object'
           OR jsonb_typeof(v_term -> 'name') IS DISTINCT FROM 'string'
           OR jsonb_typeof(v_term -> 'amount') IS DISTINCT FROM 'number' THEN
            PERFORM ledger._raise('22023', 'each term needs a string name and a numeric amount',
                format('term_no=%s term=%s', v_no, left(v_term::text, 100)));
        END IF;
        PERFORM ledger._check_name('term name', v_term ->> 'name', false);
        v_amount := (v_term ->> 'amount')::numeric;
        IF v_amount <= 0 OR v_amount <> trunc(v_amount) OR v_amount > 9223372036854775807 THEN
            PERFORM ledger._raise('22023', 'a term amount must be a positive whole number of minor units',
                format('term_no=%s amount=%s', v_no, v_term ->> 'amount'));
        END IF;
        v_total := v_total + v_amount;
        v_terms := v_terms || jsonb_build_array(
            jsonb_build_object('name', v_term ->> 'name', 'amount', v_amount::bigint));
    END LOOP;
    IF v_total > 9223372036854775807 THEN
        PERFORM ledger._raise('22023', 'the terms add up to more than a bigint can hold',
            format('total=%s', v_total));
    END IF;

    INSERT INTO tuition.assessment AS a (tenant_id, student, currency)
    VALUES (p_tenant, p_student, p_currency)
    ON CONFLICT ON CONSTRAINT assessment_student_key DO NOTHING
    RETURNING a.assessment_id INTO v_id;

    IF v_id IS NULL THEN
        -- A separate statement: a fresh snapshot sees the assessment a concurrent call committed.
        SELECT a.assessment_id, a.currency,
               (SELECT jsonb_agg(jsonb_build_object('name', t.name, 'amount', t.amount) ORDER BY t.term_no)
                  FROM tuition.term AS t
                 WHERE t.tenant_id = a.tenant_id AND t.assessment_id = a.assessment_id)
          INTO v_id, v_existing_currency, v_existing_terms
          FROM tuition.assessment AS a
         WHERE a.tenant_id = p_tenant AND a.student = p_student;
        IF (v_existing_currency, v_existing_terms) IS DISTINCT FROM (p_currency, v_terms) THEN
            PERFORM ledger._raise('PB003', 'the student already has an assessment with different terms',
                format('student=%s assessment_id=%s currency=%s terms=%s', p_student, v_id,
                       v_existing_currency, left(v_existing_terms::text, 200)));
        END IF;
        RETURN QUERY SELECT v_id;
        RETURN;
    END IF;

    INSERT INTO tuition.term (tenant_id, assessment_id, term_no, name, amount)
    SELECT p_tenant, v_id, t.ord, t.e ->> 'name', (t.e ->> 'amount')::bigint
      FROM jsonb_array_elements(v_terms) WITH ORDINALITY AS t(e, ord);
    PERFORM ledger._open_account(p_tenant, tuition._clearing_account(p_currency), p_currency,
        NULL, NULL, '{"workflow": "tuition", "role": "clearing"}');
    PERFORM ledger._open_account(p_tenant, tuition._student_account(v_id), p_currency,
        0, v_total::bigint,
        jsonb_build_object('workflow', 'tuition', 'role', 'student', 'student', p_student));
    RETURN QUERY SELECT v_id;
END
$$;
COMMENT ON FUNCTION tuition.create_assessment(text, text, text, jsonb) IS
    'Assess a student: p_terms [{"name", "amount"}, ...] become terms 1..n. Opens the student account (ceiling = total) and the currency''s clearing account. Same definition again -> the same id; different -> PB003.';
-- sql/50_tuition/110_submit_payment.sql
CREATE OR REPLACE FUNCTION tuition.submit_payment(
    p_tenant text, p_student text, p_term_no int, p_amount bigint, p_reference text)
RETURNS TABLE (payment_id bigint, reference text, term_no int, amount bigint, status text,
               allocations jsonb, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_assessment tuition.assessment;
    v_term_known boolean;
    v_first int;
    v_first_pending bigint;
    v_available bigint;
    v_pending bigint;
    v_term_nos int[];
    v_open bigint[];
    v_payment_id bigint;
    v_hold_id bigint;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('student', p_student, false);
    PERFORM ledger._check_name('reference', p_reference, false);
    IF p_term_no IS NULL OR p_term_no < 1 THEN
        PERFORM ledger._raise('22023', 'term_no must be a term number (1, 2, ...)',
            format('term_no=%s', coalesce(p_term_no::text, 'NULL')));
    END IF;
    PERFORM ledger._check_amount('amount', p_amount);

    -- The assessment first: every rule below spans its terms and payments, and every call
    -- that changes them (submit, approve, reject) holds this lock.
    SELECT * INTO v_assessment FROM tuition.assessment AS a
     WHERE a.tenant_id = p_tenant AND a.student = p_student
       FOR UPDATE;

    -- A known reference replays (or conflicts) before any other rule applies.
    IF EXISTS (SELECT FROM tuition.payment AS p WHERE p.tenant_id = p_tenant AND p.reference = p_reference) THEN
        RETURN QUERY SELECT * FROM tuition._payment_replay(
            p_tenant, p_reference, v_assessment.assessment_id, p_term_no, p_amount);
        RETURN;
    END IF;
    IF v_assessment.assessment_id IS NULL THEN
        PERFORM ledger._raise('PB005', 'no assessment for this student', format('student=%s', p_student),
            'Create it first with tuition.create_assessment.');
    END IF;

    SELECT bool_or(t.term_no = p_term_no),
           min(t.term_no) FILTER (WHERE t.effective_remaining > 0),
           (array_agg(t.pending ORDER BY t.term_no) FILTER (WHERE t.effective_remaining > 0))[1],
           sum(t.effective_remaining) FILTER (WHERE t.term_no >= p_term_no),
           sum(t.pending) FILTER (WHERE t.term_no >= p_term_no),
           array_agg(t.term_no ORDER BY t.term_no) FILTER (WHERE t.term_no >= p_term_no),
           array_agg(t.effective_remaining ORDER BY t.term_no) FILTER (WHERE t.term_no >= p_term_no)
      INTO v_term_known, v_first, v_first_pending, v_available, v_pending, v_term_nos, v_open
      FROM tuition._terms(p_tenant, v_assessment.assessment_id) AS t;
    IF NOT v_term_known THEN
        PERFORM ledger._raise('PB005', 'term not found',
            format('student=%s term_no=%s', p_student, p_term_no));
    END IF;
    IF v_first IS DISTINCT FROM p_term_no THEN
        PERFORM ledger._raise('PB004',
            CASE WHEN v_first IS NULL THEN 'nothing is left to pay: every term is paid or awaiting approval'
                 ELSE format('terms are paid in order: term %s is the next one to pay', v_first) END,
            format('term_no=%s first_payable=%s', p_term_no, coalesce(v_first::text, 'none')));
    END IF;
    IF v_first_pending > 0 THEN
        PERFORM ledger._raise('PB008', 'this term already has a payment awaiting approval',
            format('term_no=%s pending=%s', p_term_no, v_first_pending),
            'Wait until that payment is approved or rejected.');
    END IF;
    IF p_amount > v_available THEN
        PERFORM ledger._raise('PB002', 'the payment exceeds what is left to pay from this term on',
            format('available=%s requested=%s pending=%s', v_available, p_amount, v_pending));
    END IF;

    -- Claim the reference: a concurrent call of another student with the same reference waits
    -- here for this transaction and then finds the reference taken.
    INSERT INTO tuition.payment AS p (tenant_id, reference, assessment_id, term_no, amount)
    VALUES (p_tenant, p_reference, v_assessment.assessment_id, p_term_no, p_amount)
    ON CONFLICT ON CONSTRAINT payment_reference_key DO NOTHING
    RETURNING p.payment_id INTO v_payment_id;
    IF v_payment_id IS NULL THEN
        RETURN QUERY SELECT * FROM tuition._payment_replay(
            p_tenant, p_reference, v_assessment.assessment_id, p_term_no, p_amount);
        RETURN;
    END IF;

    -- The chosen term first, what exceeds it carried over to the following terms in order.
    INSERT INTO tuition.allocation (tenant_id, payment_id, assessment_id, term_no, amount)
    SELECT p_tenant, v_payment_id, v_assessment.assessment_id, s.term_no, s.amount
      FROM (SELECT u.term_no,
                   least(u.open, p_amount - coalesce(sum(u.open) OVER (
                       ORDER BY u.ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)) AS amount
              FROM unnest(v_term_nos, v_open) WITH ORDINALITY AS u(term_no, open, ord)) AS s
     WHERE s.amount > 0;

    SELECT h.entry_id INTO v_hold_id
      FROM ledger._post(p_tenant, 'pgb:tuition:payment:' || v_payment_id,
               ARRAY[tuition._clearing_account(v_assessment.currency),
                     tuition._student_account(v_assessment.assessment_id)],
               ARRAY[-p_amount, p_amount],
               jsonb_build_object('workflow', 'tuition', 'student', p_student,
                                  'reference', p_reference, 'term_no', p_term_no),
               true, NULL, true, false) AS h;
    UPDATE tuition.payment AS p SET hold_entry_id = v_hold_id
     WHERE p.tenant_id = p_tenant AND p.payment_id = v_payment_id;
    RETURN QUERY SELECT * FROM tuition._payment_out(p_tenant, v_payment_id, false);
END
$$;
COMMENT ON FUNCTION tuition.submit_payment(text, text, int, bigint, text) IS
    'Submit a payment for p_term_no, which must be the first term with effective_remaining > 0 (PB004) and have nothing pending (PB008); at most what is left from that term on (PB002). Held in the ledger until approved; the excess carries over to later terms. Same reference and parameters -> replayed; different -> PB003.';
-- sql/50_tuition/120_approve_payment.sql
CREATE OR REPLACE FUNCTION tuition.approve_payment(p_tenant text, p_payment_id bigint, p_approver text DEFAULT NULL)
RETURNS TABLE (payment_id bigint, reference text, term_no int, amount bigint, status text,
               allocations jsonb, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_payment tuition.payment;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    IF p_payment_id IS NULL THEN
        PERFORM ledger._raise('22023', 'payment_id must not be NULL');
    END IF;
    IF p_approver IS NOT NULL THEN
        PERFORM ledger._check_name('approver', p_approver, false);
    END IF;

    v_payment := tuition._lock_payment(p_tenant, p_payment_id);
    IF v_payment.status = 'paid' THEN
        RETURN QUERY SELECT * FROM tuition._payment_out(p_tenant, p_payment_id, true);
        RETURN;
    END IF;
    IF v_payment.status = 'rejected' THEN
        PERFORM ledger._raise('PB004', 'a rejected payment cannot be approved',
            format('payment_id=%s status=%s', p_payment_id, v_payment.status),
            'Submit a new payment instead.');
    END IF;

    PERFORM ledger.capture(p_tenant, v_payment.hold_entry_id, NULL);
    UPDATE tuition.payment AS p
       SET status = 'paid', approver = p_approver, decided_at = clock_timestamp()
     WHERE p.tenant_id = p_tenant AND p.payment_id = p_payment_id;
    RETURN QUERY SELECT * FROM tuition._payment_out(p_tenant, p_payment_id, false);
END
$$;
COMMENT ON FUNCTION tuition.approve_payment(text, bigint, text) IS
    'Approve a payment awaiting approval: its hold is captured and its allocations become paid, exactly once. Again -> replayed; rejected -> PB004; unknown -> PB005.';
-- sql/50_tuition/121_reject_payment.sql
CREATE OR REPLACE FUNCTION tuition.reject_payment(p_tenant text, p_payment_id bigint, p_reason text DEFAULT NULL)
RETURNS TABLE (payment_id bigint, reference text, term_no int, amount bigint, status text,
               allocations jsonb, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_payment tuition.payment;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    IF p_payment_id IS NULL THEN
        PERFORM ledger._raise('22023', 'payment_id must not be NULL');
    END IF;
    IF length(p_reason) > 1000 THEN
        PERFORM ledger._raise('22023', 'reason is longer than 1000 characters',
            format('length=%s', length(p_reason)));
    END IF;

    v_payment := tuition._lock_payment(p_tenant, p_payment_id);
    IF v_payment.status = 'rejected' THEN
        RETURN QUERY SELECT * FROM tuition._payment_out(p_tenant, p_payment_id, true);
        RETURN;
    END IF;
    IF v_payment.status = 'paid' THEN
        PERFORM ledger._raise('PB004', 'a paid payment cannot be rejected',
            format('payment_id=%s status=%s', p_payment_id, v_payment.status));
    END IF;

    PERFORM ledger.void(p_tenant, v_payment.hold_entry_id);
    UPDATE tuition.payment AS p
       SET status = 'rejected', reason = p_reason, decided_at = clock_timestamp()
     WHERE p.tenant_id = p_tenant AND p.payment_id = p_payment_id;
    RETURN QUERY SELECT * FROM tuition._payment_out(p_tenant, p_payment_id, false);
END
$$;
COMMENT ON FUNCTION tuition.reject_payment(text, bigint, text) IS
    'Reject a payment awaiting approval: its hold is voided and its terms can be paid again. Again -> replayed; paid -> PB004; unknown -> PB005.';
-- sql/50_tuition/130_awaiting_approval.sql
CREATE OR REPLACE FUNCTION tuition.awaiting_approval(p_tenant text)
RETURNS TABLE (payment_id bigint, reference text, term_no int, amount bigint, status text,
               allocations jsonb, replayed boolean, student text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    RETURN QUERY
    SELECT o.*, a.student
      FROM tuition.payment AS p
      JOIN tuition.assessment AS a ON a.tenant_id = p.tenant_id AND a.assessment_id = p.assessment_id
     CROSS JOIN LATERAL tuition._payment_out(p.tenant_id, p.payment_id, false) AS o
     WHERE p.tenant_id = p_tenant AND p.status = 'awaiting_approval'
     ORDER BY p.submitted_at, p.payment_id;
END
$$;
COMMENT ON FUNCTION tuition.awaiting_approval(text) IS
    'The accounting queue: payments awaiting approval in the tenant, oldest first, each with its student.';
-- sql/50_tuition/140_overview.sql
CREATE OR REPLACE FUNCTION tuition.overview(p_tenant text, p_student text)
RETURNS TABLE (term_no int, name text, amount bigint, paid bigint, pending bigint, remaining bigint,
               effective_remaining bigint, status text, selectable boolean, blocked_reason text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_assessment_id bigint;
BEGIN
    PERFORM ledger._check_name('tenant', p_tenant, false);
    PERFORM ledger._check_name('student', p_student, false);
    SELECT a.assessment_id INTO v_assessment_id FROM tuition.assessment AS a
     WHERE a.tenant_id = p_tenant AND a.student = p_student;
    IF NOT FOUND THEN
        PERFORM ledger._raise('PB005', 'no assessment for this student', format('student=%s', p_student));
    END IF;
    RETURN QUERY SELECT * FROM tuition._terms(p_tenant, v_assessment_id);
END
$$;
COMMENT ON FUNCTION tuition.overview(text, text) IS
    'The student''s terms in order: amount, paid, pending (awaiting approval), remaining, effective_remaining = remaining - pending, status (paid|pending|unpaid), selectable (the one term a payment may be submitted for) and blocked_reason (NULL exactly when selectable).';
-- sql/90_security/grants.sql
-- Applications get EXECUTE on the public API (names without a leading underscore) and no
-- table privilege at all; auditors read everything. Re-run on every migrate, so functions
-- added by any schema are covered.
DO $$
DECLARE
    v_schema text;
    v_fn regprocedure;
BEGIN
    FOR v_schema IN
        SELECT n.nspname FROM pg_catalog.pg_namespace AS n
         WHERE n.nspname IN ('ledger', 'wallet', 'booking', 'fees', 'tuition')
    LOOP
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM PUBLIC, pgbalance_app', v_schema);
        EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM PUBLIC, pgbalance_app', v_schema);
        EXECUTE format('REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA %I FROM PUBLIC, pgbalance_app, pgbalance_auditor', v_schema);
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO pgbalance_app, pgbalance_auditor', v_schema);
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO pgbalance_auditor', v_schema);
        FOR v_fn IN
            SELECT p.oid::regprocedure FROM pg_catalog.pg_proc AS p
             WHERE p.pronamespace = v_schema::regnamespace AND p.proname !~ '^_'
        LOOP
            IF v_fn::text LIKE 'ledger.verify(%' THEN
                EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO pgbalance_auditor', v_fn);
            ELSE
                EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO pgbalance_app', v_fn);
            END IF;
        END LOOP;
    END LOOP;
    -- Auditors read statements, balances and entries as well as verify.
    GRANT EXECUTE ON FUNCTION ledger.statement(text, text, timestamptz, timestamptz),
                              ledger.balance_at(text, text, timestamptz),
                              ledger.get_account(text, text),
                              ledger.get_entry(text, bigint) TO pgbalance_auditor;
END
$$;
