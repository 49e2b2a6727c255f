CREATE OR REPLACE FUNCTION tuition.awaiting_approval(p_tenant text)
RETURNS TABLE (payment_id bigint, reference text, term_no int, amount bigint, status text,
               allocations jsonb, replayed boolean, student text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_payment_id bigint;
    v_student text;
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    -- Payment by payment: on Citus a function that reads tables (_payment_out) cannot run
    -- inside a query over a distributed table.
    FOR v_payment_id, v_student IN
        SELECT p.payment_id, a.student
          FROM tuition.payment AS p
          JOIN tuition.assessment AS a ON a.tenant_id = p_tenant AND a.assessment_id = p.assessment_id
         WHERE p.tenant_id = p_tenant AND p.status = 'awaiting_approval'
         ORDER BY p.submitted_at, p.payment_id
    LOOP
        RETURN QUERY SELECT o.*, v_student FROM tuition._payment_out(p_tenant, v_payment_id, false) AS o;
    END LOOP;
END
$$;
COMMENT ON FUNCTION tuition.awaiting_approval(text) IS
    'The accounting queue: payments awaiting approval in the tenant, oldest first, each with its student.';
