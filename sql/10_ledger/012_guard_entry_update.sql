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
-- The trigger names the other columns (UPDATE OF), so an UPDATE that sets only status
-- columns (capture, void, expiry) does not fire it, and PostgreSQL does not read its WHEN
-- back from text and prepare it (about 110k instructions in each such statement). An UPDATE
-- that names an identity column fires it, and its WHEN compares as before. What UPDATE OF
-- does not see, a BEFORE trigger of someone else's changing the row, needs DDL on
-- ledger.entry, which ledger._guard_ddl refuses to everyone but a superuser.
CREATE OR REPLACE TRIGGER guard_entry_update
    BEFORE UPDATE OF tenant_id, entry_id, idempotency_key, fingerprint, expires_at, metadata,
                     created_at, reverses_entry_id
    ON ledger.entry
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
