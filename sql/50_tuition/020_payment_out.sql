-- The one place that shapes a payment row for callers.
CREATE OR REPLACE FUNCTION tuition._payment_out(p_tenant text, p_payment_id bigint, p_replayed boolean)
RETURNS SETOF tuition.payment_result
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT p.payment_id, p.reference, p.term_no, p.amount, p.status,
           (SELECT jsonb_agg(jsonb_build_object('term_no', a.term_no, 'amount', a.amount)
                             ORDER BY a.term_no)
              FROM tuition.allocation AS a
             WHERE a.tenant_id = p_tenant AND a.payment_id = p.payment_id),
           p_replayed
      FROM tuition.payment AS p
     WHERE p.tenant_id = p_tenant AND p.payment_id = p_payment_id;
END
$$;
COMMENT ON FUNCTION tuition._payment_out(text, bigint, boolean) IS
    'Private: a payment row as the API returns it, allocations in term order.';
