-- Inserts the postings that end a hold: pending columns back down, and with p_capture the
-- posted movement (the whole hold, or p_capture of a two-leg hold). Accounts are locked.
CREATE OR REPLACE FUNCTION ledger._release_hold(p_tenant text, p_entry_id bigint, p_capture bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now timestamptz := clock_timestamp();
BEGIN
    WITH held AS (
        SELECT p.account_id, p.kind, p.amount, p.posting_no,
               count(*) OVER () AS legs,
               max(p.posting_no) OVER () AS last_no
          FROM ledger.posting AS p
         WHERE p.tenant_id = p_tenant AND p.entry_id = p_entry_id
           AND p.kind <> 'B' AND p.amount > 0
    ), moves AS (
        SELECT h.account_id, h.kind, -h.amount AS amount, h.posting_no, h.last_no FROM held AS h
        UNION ALL
        SELECT h.account_id, 'B',
               CASE WHEN h.legs = 2 THEN p_capture ELSE h.amount END
                   * CASE WHEN h.kind = 'O' THEN -1 ELSE 1 END,
               h.posting_no + h.legs, h.last_no
          FROM held AS h
         WHERE p_capture IS NOT NULL
    )
    INSERT INTO ledger.posting (tenant_id, entry_id, posting_no, account_id, kind, amount, posted_at)
    SELECT p_tenant, p_entry_id, m.last_no + row_number() OVER (ORDER BY m.posting_no),
           m.account_id, m.kind, m.amount, v_now
      FROM moves AS m;
END
$$;
COMMENT ON FUNCTION ledger._release_hold(text, bigint, bigint) IS
    'Private: release a pending hold''s reservations and, when p_capture is given, post the captured movement.';
