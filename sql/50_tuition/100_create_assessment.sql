CREATE OR REPLACE FUNCTION tuition.create_assessment(p_tenant text, p_student text, p_currency text, p_terms jsonb)
RETURNS TABLE (assessment_id bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    c_bigint_max CONSTANT numeric := 9223372036854775807;  -- the largest amount a posting holds
    v_term jsonb;
    v_no int := 0;
    v_amount numeric;
    v_total numeric := 0;
    v_terms jsonb := '[]';
    v_id bigint;
    v_existing_currency text;
    v_existing_terms jsonb;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
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
        IF v_amount <= 0 OR v_amount <> trunc(v_amount) OR v_amount > c_bigint_max THEN
            PERFORM ledger._raise('22023', 'a term amount must be a positive whole number of minor units',
                format('term_no=%s amount=%s', v_no, v_term ->> 'amount'));
        END IF;
        v_total := v_total + v_amount;
        v_terms := v_terms || jsonb_build_array(
            jsonb_build_object('name', v_term ->> 'name', 'amount', v_amount::bigint));
    END LOOP;
    IF v_total > c_bigint_max THEN
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
