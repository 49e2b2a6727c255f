CREATE OR REPLACE FUNCTION ledger.reverse(
    p_tenant text, p_key text, p_entry_id bigint, p_amount bigint DEFAULT NULL,
    p_metadata jsonb DEFAULT '{}')
RETURNS SETOF ledger.movement_result
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT ledger._check_access(p_tenant, true);
    SELECT * FROM ledger._reverse(p_tenant, p_key, p_entry_id, p_amount, p_metadata, true)
$$;
COMMENT ON FUNCTION ledger.reverse(text, text, bigint, bigint, jsonb) IS
    'Post a new entry negating a posted one: what remains (p_amount NULL) or p_amount of a two-leg entry. Above what remains -> PB002; pending, voided or fully reversed -> PB004. The original becomes reversed once fully reversed. Idempotent by p_key. A workflow''s entry (key pgb:...) -> PB004: its workflow refunds it.';
