-- The one writer of balance columns. Callers have already locked every account they
-- post to (in account_id order), so this UPDATE never waits and never deadlocks.
CREATE OR REPLACE FUNCTION ledger._apply_postings()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Transaction-local marker read by the account guard; reset before returning.
    PERFORM set_config('pgbalance.applying', 'on', true);
    UPDATE ledger.account AS a
       SET balance     = a.balance + d.b,
           pending_out = a.pending_out + d.o,
           pending_in  = a.pending_in + d.i
      FROM (SELECT n.tenant_id, n.account_id,
                   coalesce(sum(n.amount) FILTER (WHERE n.kind = 'B'), 0) AS b,
                   coalesce(sum(n.amount) FILTER (WHERE n.kind = 'O'), 0) AS o,
                   coalesce(sum(n.amount) FILTER (WHERE n.kind = 'I'), 0) AS i
              FROM new_postings AS n
             GROUP BY n.tenant_id, n.account_id) AS d
     WHERE a.tenant_id = d.tenant_id
       AND a.account_id = d.account_id;
    PERFORM set_config('pgbalance.applying', '', true);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._apply_postings() IS
    'Private trigger: applies inserted postings to balance, pending_out and pending_in (the only writer).';

CREATE OR REPLACE TRIGGER apply_postings
    AFTER INSERT ON ledger.posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._apply_postings();
COMMENT ON TRIGGER apply_postings ON ledger.posting IS
    'The single authority over balances: every balance change is an inserted posting.';
