-- The one writer of balance columns. Callers have already locked every account they
-- post to (in account_id order), so the UPDATE never waits and never deadlocks.
-- A striped account (stripes > 0: no floor, no ceiling; migrations/0006_perf_stripes.sql)
-- gets its deltas in one of its `stripes` rows of ledger.account_stripe instead, chosen by
-- the transaction id (one transaction always uses the same stripe, concurrent ones mostly
-- different ones), written last and in account_id order; callers hold only a share lock on
-- a striped account (ledger._apply_legs).
CREATE OR REPLACE FUNCTION ledger._apply_postings()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- The plans are cached per session for the size of the first statement's postings: a session
-- whose first insert had many rows would otherwise keep a hash join over every account for
-- all its later two-leg movements. Index lookups are right for any size here.
SET enable_seqscan = off
AS $$
DECLARE
    v_striped bigint;
BEGIN
    -- Transaction-local marker read by the account guard; reset before returning.
    PERFORM set_config('pgbalance.applying', 'on', true);
    WITH d AS (
        SELECT n.tenant_id, n.account_id,
               coalesce(sum(n.amount) FILTER (WHERE n.kind = 'B'), 0) AS b,
               coalesce(sum(n.amount) FILTER (WHERE n.kind = 'O'), 0) AS o,
               coalesce(sum(n.amount) FILTER (WHERE n.kind = 'I'), 0) AS i
          FROM new_postings AS n
         GROUP BY n.tenant_id, n.account_id
    ), limited AS (
        UPDATE ledger.account AS a
           SET balance     = a.balance + d.b,
               pending_out = a.pending_out + d.o,
               pending_in  = a.pending_in + d.i
          FROM d
         WHERE a.tenant_id = d.tenant_id
           AND a.account_id = d.account_id
           AND a.stripes = 0
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM d) - (SELECT count(*) FROM limited) INTO v_striped;
    IF v_striped > 0 THEN
        INSERT INTO ledger.account_stripe AS s (tenant_id, account_id, stripe_no, balance,
                                                pending_out, pending_in)
        SELECT n.tenant_id, n.account_id, (txid_current() % a.stripes)::smallint,
               coalesce(sum(n.amount) FILTER (WHERE n.kind = 'B'), 0),
               coalesce(sum(n.amount) FILTER (WHERE n.kind = 'O'), 0),
               coalesce(sum(n.amount) FILTER (WHERE n.kind = 'I'), 0)
          FROM new_postings AS n
          JOIN ledger.account AS a ON a.tenant_id = n.tenant_id AND a.account_id = n.account_id
         WHERE a.stripes > 0
         GROUP BY n.tenant_id, n.account_id, a.stripes
         ORDER BY n.account_id
            ON CONFLICT ON CONSTRAINT account_stripe_pkey DO UPDATE
           SET balance     = s.balance + excluded.balance,
               pending_out = s.pending_out + excluded.pending_out,
               pending_in  = s.pending_in + excluded.pending_in;
    END IF;
    PERFORM set_config('pgbalance.applying', '', true);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._apply_postings() IS
    'Private trigger: applies inserted postings to balance, pending_out and pending_in (the only writer); a striped account gets them in one of its stripe rows per transaction.';

CREATE OR REPLACE TRIGGER apply_postings
    AFTER INSERT ON ledger.posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._apply_postings();
COMMENT ON TRIGGER apply_postings ON ledger.posting IS
    'The single authority over balances: every balance change is an inserted posting.';
