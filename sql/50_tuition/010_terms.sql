-- The state of every term of one assessment, derived from the allocations of its payments.
-- submit_payment reads its rules from here and overview returns it, so the two always agree.
CREATE OR REPLACE FUNCTION tuition._terms(p_tenant text, p_assessment_id bigint)
RETURNS SETOF tuition.term_result
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    WITH sums AS (
        SELECT t.term_no, t.name, t.amount,
               coalesce(sum(a.amount) FILTER (WHERE p.status = 'paid'), 0)::bigint AS paid,
               coalesce(sum(a.amount) FILTER (WHERE p.status = 'awaiting_approval'), 0)::bigint AS pending
          FROM tuition.term AS t
          LEFT JOIN tuition.allocation AS a
            ON a.tenant_id = p_tenant AND a.assessment_id = t.assessment_id AND a.term_no = t.term_no
          LEFT JOIN tuition.payment AS p
            ON p.tenant_id = p_tenant AND p.payment_id = a.payment_id
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
     ORDER BY s.term_no;
END
$$;
COMMENT ON FUNCTION tuition._terms(text, bigint) IS
    'Private: per term amount, paid, pending (allocations awaiting approval), remaining, effective_remaining, status, selectable and blocked_reason.';
