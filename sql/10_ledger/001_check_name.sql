-- Names (tenants, codes, keys, references) are bounded so they always fit a btree entry,
-- and user-supplied ones may not use the prefix reserved for workflow-derived names.
-- The rule is a plain SQL expression (no SET, one SELECT): the planner inlines it into the
-- caller, so the movement engine checks every name of a batch without a function call.
CREATE OR REPLACE FUNCTION ledger._name_ok(p_value text, p_user boolean)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT p_value <> '' AND pg_catalog.length(p_value) <= 200
           AND NOT (p_user AND pg_catalog.starts_with(p_value, 'pgb:'))
$$;
COMMENT ON FUNCTION ledger._name_ok(text, boolean) IS
    'Private: true when p_value is a non-empty name of at most 200 characters, outside the reserved pgb: prefix when p_user (NULL for NULL); ledger._name_problem says which part failed.';

-- Which part of ledger._name_ok failed, as the 22023 to report (per item, not raised).
CREATE OR REPLACE FUNCTION ledger._name_problem(p_what text, p_value text, p_user boolean)
RETURNS text[]
LANGUAGE sql
STABLE
AS $$
    SELECT CASE
        WHEN p_value IS NULL OR p_value = '' THEN
            ARRAY[pg_catalog.format('%s must be a non-empty string', p_what),
                  pg_catalog.format('%s=%s', p_what, coalesce(pg_catalog.quote_literal(p_value), 'NULL')),
                  NULL]
        WHEN pg_catalog.length(p_value) > 200 THEN
            ARRAY[pg_catalog.format('%s is longer than 200 characters', p_what),
                  pg_catalog.format('length=%s', pg_catalog.length(p_value)), NULL]
        WHEN p_user AND pg_catalog.starts_with(p_value, 'pgb:') THEN
            ARRAY[pg_catalog.format('%s may not start with the reserved prefix pgb:', p_what),
                  pg_catalog.format('%s=%s', p_what, p_value),
                  'pgb: names are derived by pgbalance workflows.']
    END
$$;
COMMENT ON FUNCTION ledger._name_problem(text, text, boolean) IS
    'Private: NULL when p_value is a non-empty name of at most 200 characters (outside the reserved pgb: prefix when p_user), else {message, detail, hint} of its 22023.';

-- Private helpers run inside the kernel's functions, whose search_path is pinned; without a
-- SET clause of their own a call costs no GUC save and restore.
CREATE OR REPLACE FUNCTION ledger._check_name(p_what text, p_value text, p_user boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
AS $$
DECLARE
    v_problem text[] := ledger._name_problem(p_what, p_value, p_user);
BEGIN
    IF v_problem IS NOT NULL THEN
        PERFORM ledger._raise('22023', v_problem[1], v_problem[2], v_problem[3]);
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._check_name(text, text, boolean) IS
    'Private: 22023 unless p_value is a non-empty name of at most 200 characters outside the reserved pgb: prefix (ledger._name_problem).';
