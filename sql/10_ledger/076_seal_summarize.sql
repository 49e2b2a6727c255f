-- A seal (and the incremental verify) finds its interval through the BRIN index on posted_at,
-- which returns every block range not yet summarised. Summaries are made by VACUUM, and
-- autovacuum visits an insert-only table after inserts of a fifth of its size: on a large
-- ledger, ranges written since then would be read whole by every seal. So each seal
-- summarises the full ranges written since the last summarised one (walking back from the
-- newest full range to the first already summarised), about what it reads anyway. Never the
-- partly filled last range: once summarised, every posting inserted into it would have to
-- widen its summary (a BRIN page update and WAL record per posting, on one page for all
-- writers), where an unsummarised range costs an insert a lookup in the map. Summarising takes
-- SHARE UPDATE EXCLUSIVE on ledger.posting, which no movement takes but VACUUM does: the seal
-- waits at most lock_timeout for it and else leaves the work to the next seal.
CREATE OR REPLACE FUNCTION ledger._seal_summarize()
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '100ms'
AS $$
DECLARE
    v_index regclass := to_regclass('ledger.posting_time_brin');
    v_per_range bigint;
    v_blocks bigint;
    v_start bigint;
    v_done bigint := 0;
BEGIN
    -- Absent, or left invalid by a failed CREATE INDEX CONCURRENTLY (docs/operations.md builds
    -- it that way on a large ledger): nothing to summarise, and no reason to fail the seal.
    IF v_index IS NULL
       OR NOT (SELECT i.indisvalid FROM pg_index AS i WHERE i.indexrelid = v_index) THEN
        RETURN 0;
    END IF;
    SELECT coalesce((SELECT o.option_value::bigint
                       FROM pg_options_to_table(c.reloptions) AS o
                      WHERE o.option_name = 'pages_per_range'), 128)
      INTO v_per_range
      FROM pg_class AS c WHERE c.oid = v_index;
    v_blocks := pg_relation_size('ledger.posting'::regclass)
                / current_setting('block_size')::bigint;
    -- The newest range that is full; ranges before it back to the first summarised one.
    v_start := (v_blocks / v_per_range - 1) * v_per_range;
    BEGIN
        WHILE v_start >= 0 LOOP
            EXIT WHEN brin_summarize_range(v_index, v_start) = 0;
            v_done := v_done + 1;
            v_start := v_start - v_per_range;
        END LOOP;
    EXCEPTION WHEN lock_not_available THEN
        NULL;
    END;
    RETURN v_done;
END
$$;
COMMENT ON FUNCTION ledger._seal_summarize() IS
    'Private (ledger.seal): summarise the full block ranges of the BRIN index on posted_at written since the last summarised one, so seals and verify read their interval, not everything since the last VACUUM; skipped when VACUUM holds the table. Returns the ranges summarised.';
