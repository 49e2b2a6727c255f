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
