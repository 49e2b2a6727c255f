-- A snapshot written in a change-feed cursor ('xmin:xmax:xip,...', as pg_snapshot prints it),
-- read back. Checked before the cast so that a damaged cursor is 22023 like any other bad
-- input, not the cast's own error.
CREATE OR REPLACE FUNCTION ledger._changes_snapshot(p_text text)
RETURNS pg_snapshot
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_xids numeric[];
BEGIN
    IF p_text = 'n' THEN
        RETURN NULL;
    END IF;
    -- xmin, xmax, then the in-progress xids: xmin >= 1, xmin <= xip ascending < xmax.
    v_xids := string_to_array(replace(rtrim(p_text, ':'), ':', ','), ',')::numeric[];
    IF v_xids[1] < 1 OR v_xids[1] > v_xids[2]
       OR EXISTS (SELECT FROM generate_subscripts(v_xids, 1) AS i
                   WHERE i > 2 AND (v_xids[i] < v_xids[1] OR v_xids[i] >= v_xids[2]
                                    OR (i > 3 AND v_xids[i] <= v_xids[i - 1]))) THEN
        PERFORM ledger._raise('22023', 'cursor is not a ledger.changes cursor',
            format('snapshot=%s', p_text), 'Pass NULL or the cursor of a row ledger.changes returned.');
    END IF;
    RETURN p_text::pg_snapshot;
END
$$;
COMMENT ON FUNCTION ledger._changes_snapshot(text) IS
    'Private: the snapshot written in a ledger.changes cursor (NULL for ''n''); 22023 unless it is a well-formed one.';
