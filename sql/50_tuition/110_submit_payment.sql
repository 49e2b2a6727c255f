CREATE OR REPLACE FUNCTION tuition.submit_payment(
    p_tenant text, p_student text, p_term_no int, p_amount bigint, p_reference text)
RETURNS SETOF tuition.payment_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_assessment tuition.assessment;
    v_term_known boolean;
    v_first int;
    v_available bigint;
    v_pending bigint;
    v_term_nos int[];
    v_open bigint[];
    v_pendings bigint[];
    v_alloc_terms int[];
    v_alloc_amounts bigint[];
    v_blocked int;
    v_blocked_pending bigint;
    v_payment_id bigint;
    v_hold_id bigint;
BEGIN
    PERFORM ledger._check_access(p_tenant, true);
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
           sum(t.effective_remaining) FILTER (WHERE t.term_no >= p_term_no),
           sum(t.pending) FILTER (WHERE t.term_no >= p_term_no),
           array_agg(t.term_no ORDER BY t.term_no) FILTER (WHERE t.term_no >= p_term_no),
           array_agg(t.effective_remaining ORDER BY t.term_no) FILTER (WHERE t.term_no >= p_term_no),
           array_agg(t.pending ORDER BY t.term_no) FILTER (WHERE t.term_no >= p_term_no)
      INTO v_term_known, v_first, v_available, v_pending, v_term_nos, v_open, v_pendings
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
    -- What the payment allocates: the chosen term first, what exceeds it carried over to the
    -- following terms in order. No term from the chosen one up to the last it reaches may
    -- already have an allocation awaiting approval, whether it would get a share or not (a
    -- fully pending term gets none, and the carry-over would jump it): so a term never has two
    -- payments awaiting approval, and no approval pays a term past an unpaid one.
    SELECT array_agg(s.term_no ORDER BY s.term_no) FILTER (WHERE s.amount > 0),
           array_agg(s.amount ORDER BY s.term_no) FILTER (WHERE s.amount > 0),
           min(s.term_no) FILTER (WHERE s.pending > 0 AND s.term_no <= s.last_term_no),
           (array_agg(s.pending ORDER BY s.term_no)
                FILTER (WHERE s.pending > 0 AND s.term_no <= s.last_term_no))[1]
      INTO v_alloc_terms, v_alloc_amounts, v_blocked, v_blocked_pending
      FROM (SELECT a.term_no, a.pending, a.amount, max(a.term_no) FILTER (WHERE a.amount > 0) OVER () AS last_term_no
              FROM (SELECT u.term_no, u.pending,
                           least(u.open, p_amount - coalesce(sum(u.open) OVER (
                               ORDER BY u.ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)) AS amount
                      FROM unnest(v_term_nos, v_open, v_pendings) WITH ORDINALITY AS u(term_no, open, pending, ord)) AS a) AS s;
    IF v_blocked IS NOT NULL THEN
        PERFORM ledger._raise('PB008',
            CASE WHEN v_blocked = p_term_no THEN 'this term already has a payment awaiting approval'
                 ELSE format('the payment would carry over into term %s, which has a payment awaiting approval', v_blocked) END,
            format('term_no=%s pending_term_no=%s pending=%s', p_term_no, v_blocked, v_blocked_pending),
            'Wait until that payment is approved or rejected, or pay no more than what is open before that term.');
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

    INSERT INTO tuition.allocation (tenant_id, payment_id, assessment_id, term_no, amount)
    SELECT p_tenant, v_payment_id, v_assessment.assessment_id, u.term_no, u.amount
      FROM unnest(v_alloc_terms, v_alloc_amounts) AS u(term_no, amount);

    SELECT h.entry_id INTO v_hold_id
      FROM ledger._post(p_tenant, 'pgb:tuition:payment:' || v_payment_id,
               ARRAY[tuition._clearing_account(v_assessment.currency),
                     tuition._student_account(v_assessment.assessment_id)],
               ARRAY[-p_amount, p_amount],
               jsonb_build_object('workflow', 'tuition', 'student', p_student,
                                  'reference', p_reference, 'term_no', p_term_no),
               p_pending => true, p_expires_at => NULL, p_one_currency => true, p_user => false) AS h;
    UPDATE tuition.payment AS p SET hold_entry_id = v_hold_id
     WHERE p.tenant_id = p_tenant AND p.payment_id = v_payment_id;
    RETURN QUERY SELECT * FROM tuition._payment_out(p_tenant, v_payment_id, false);
END
$$;
COMMENT ON FUNCTION tuition.submit_payment(text, text, int, bigint, text) IS
    'Submit a payment for p_term_no, which must be the first term with effective_remaining > 0 (PB004) and no term from it up to the last one the payment carries over into may have anything pending (PB008); at most what is left from that term on (PB002). Held in the ledger until approved; the excess carries over to later terms. Same reference and parameters -> replayed; different -> PB003.';
