-- The one writer of balance columns. Callers have already locked every account they
-- post to (in account_id order, ledger._apply_legs), so the UPDATE never waits and never
-- deadlocks. A striped account (stripes > 0: no floor, no ceiling; migrations/0006_perf_stripes.sql)
-- gets its deltas in one of its `stripes` rows of ledger.account_stripe instead, chosen by
-- the transaction id (one transaction always uses the same stripe, concurrent ones mostly
-- different ones), written last and in account_id order; callers hold only a share lock on
-- a striped account.
-- The transition table is read by a statement of its own (Citus runs no statement that reads
-- one together with a distributed table); one statement inserts postings of one tenant.
-- Every posting's account must exist: what a foreign key from ledger.posting checked row by
-- row is one comparison of counts here.
CREATE OR REPLACE FUNCTION ledger._apply_postings()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- The arrays are read through init plans ((SELECT v_ids)): the planner then assumes a few
-- elements whatever the call, so the generic plan costs what a custom one would and plpgsql
-- keeps it instead of planning every call. Index lookups are right for any size here: without
-- enable_seqscan = off a plan made for a large first statement would scan every account.
SET enable_seqscan = off
AS $$
DECLARE
    v_tenant text;
    v_ids bigint[];
    v_b bigint[];
    v_o bigint[];
    v_i bigint[];
    v_n integer;
    v_rows bigint;
    v_striped bigint := 0;
    v_txid bigint;
    v_marker text;
    v_row record;
BEGIN
    -- One pass over the new postings in account order sums each account's deltas: the loop
    -- prepares a few small expressions per movement, a grouping query would prepare nine
    -- aggregates (50k instructions more a transfer; a batch item costs the same either way).
    v_n := 0;
    FOR v_row IN
        SELECT n.tenant_id, n.account_id, n.kind, n.amount FROM new_postings AS n ORDER BY n.account_id
    LOOP
        IF v_n = 0 THEN
            v_tenant := v_row.tenant_id;
        ELSIF v_row.tenant_id IS DISTINCT FROM v_tenant THEN
            PERFORM ledger._raise('22023', 'one statement inserts postings of one tenant',
                format('tenants=%s,%s', v_tenant, v_row.tenant_id));
        END IF;
        IF v_n = 0 OR v_row.account_id <> v_ids[v_n] THEN
            v_n := v_n + 1;
            v_ids[v_n] := v_row.account_id;
            v_b[v_n] := 0;
            v_o[v_n] := 0;
            v_i[v_n] := 0;
        END IF;
        IF v_row.kind = 'B' THEN
            v_b[v_n] := v_b[v_n] + v_row.amount;
        ELSIF v_row.kind = 'O' THEN
            v_o[v_n] := v_o[v_n] + v_row.amount;
        ELSE
            v_i[v_n] := v_i[v_n] + v_row.amount;
        END IF;
    END LOOP;
    IF v_n = 0 THEN
        RETURN NULL;
    END IF;
    -- Transaction-local marker read by the account and stripe guards; reset before returning.
    -- Assignments, not PERFORM: an expression needs no executor run.
    v_marker := set_config('pgbalance.applying', 'on', true);
    -- A few accounts (a single movement) find their deltas by position in one index scan; a
    -- batch's many join them by id, as a lookup by position costs quadratic time there.
    IF v_n <= 16 THEN
        UPDATE ledger.account AS a
           SET balance     = a.balance + v_b[array_position(v_ids, a.account_id)],
               pending_out = a.pending_out + v_o[array_position(v_ids, a.account_id)],
               pending_in  = a.pending_in + v_i[array_position(v_ids, a.account_id)]
         WHERE a.tenant_id = v_tenant AND a.account_id = ANY ((SELECT v_ids)::bigint[]) AND a.stripes = 0;
    ELSE
        UPDATE ledger.account AS a
           SET balance     = a.balance + d.b,
               pending_out = a.pending_out + d.o,
               pending_in  = a.pending_in + d.i
          FROM unnest((SELECT v_ids)::bigint[], (SELECT v_b)::bigint[], (SELECT v_o)::bigint[],
                      (SELECT v_i)::bigint[]) AS d(id, b, o, i)
         WHERE a.tenant_id = v_tenant AND a.account_id = d.id AND a.stripes = 0;
    END IF;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    IF v_rows < v_n THEN
        v_txid := txid_current();
        INSERT INTO ledger.account_stripe AS s (tenant_id, account_id, stripe_no, balance,
                                                pending_out, pending_in)
        SELECT v_tenant, a.account_id, (v_txid % a.stripes)::smallint, d.b, d.o, d.i
          FROM unnest((SELECT v_ids)::bigint[], (SELECT v_b)::bigint[], (SELECT v_o)::bigint[],
                      (SELECT v_i)::bigint[]) AS d(id, b, o, i)
          JOIN ledger.account AS a ON a.tenant_id = v_tenant AND a.account_id = d.id
         WHERE a.stripes > 0
         ORDER BY a.account_id
            ON CONFLICT ON CONSTRAINT account_stripe_pkey DO UPDATE
           SET balance     = s.balance + excluded.balance,
               pending_out = s.pending_out + excluded.pending_out,
               pending_in  = s.pending_in + excluded.pending_in;
        GET DIAGNOSTICS v_striped = ROW_COUNT;
    END IF;
    v_marker := set_config('pgbalance.applying', '', true);
    IF v_rows + v_striped < v_n THEN
        PERFORM ledger._raise('PB009', 'a posting names an account that does not exist',
            format('tenant=%s accounts=%s updated=%s', v_tenant, v_n, v_rows + v_striped),
            'Postings are inserted by the kernel''s movements only.');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._apply_postings() IS
    'Private trigger: applies inserted postings to balance, pending_out and pending_in (the only writer); a striped account gets them in one of its stripe rows per transaction; a posting of an unknown account is refused (PB009).';

CREATE OR REPLACE TRIGGER apply_postings
    AFTER INSERT ON ledger.posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._apply_postings();
COMMENT ON TRIGGER apply_postings ON ledger.posting IS
    'The single authority over balances: every balance change is an inserted posting.';
