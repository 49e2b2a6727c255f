CREATE OR REPLACE FUNCTION tuition.overview(p_tenant text, p_student text)
RETURNS SETOF tuition.term_result
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_assessment_id bigint;
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
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
