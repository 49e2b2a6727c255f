-- The change feed (docs/changes.md). A change is an entry created or an entry's status
-- changed; each carries the top-level xid of its transaction (entry.created_xid,
-- entry_status_change.changed_xid). Reads go in batches between two snapshots: a batch is
-- every change whose xid is visible in its high snapshot and was not in its low one, so a
-- transaction still running at a read (in the snapshot's in-progress list) falls into a
-- later batch whatever its xid or entry_id, and an aborted one never has a visible row.
-- Within a batch rows go by (entry_id, change), and a batch may take several pages: a cursor
-- is 'low/high/entry_id/change/node/tag', 'n' for no snapshot (a cursor never starts with
-- '-', which command lines take for an option): low 'n' before the first batch, high 'n'
-- once a batch is read to the end (the next read then takes the current snapshot as high).
-- The tag ties it to the tenant; node is the server it was made on and its start
-- (ledger._node_id): on another server (a Citus node the tenant moved to, a restore
-- elsewhere), or after a restart (which can hand out xids again), its xids and snapshots mean
-- nothing, and it is refused with 72000 so that the consumer starts over.
--
-- Cost: a batch's candidates come by index on the xid (those the low snapshot saw in
-- progress, and those since its xmax: the changes since the previous read), never from
-- history; the first read of all (p_after NULL) walks history in entry_id order, a page at
-- a time.
-- Citus: xids and snapshots are those of the node holding the tenant (delegated by tenant).
CREATE OR REPLACE FUNCTION ledger.changes(
    p_tenant text, p_after text DEFAULT NULL, p_limit integer DEFAULT 100)
RETURNS TABLE (cursor text, entry_id bigint, status text, changed_at timestamptz)
LANGUAGE plpgsql
-- STABLE: every statement reads with the calling query's snapshot, the one taken below.
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_parts text[];
    v_low pg_snapshot;
    v_high pg_snapshot;
    v_now pg_snapshot := pg_current_snapshot();
    v_own xid8 := pg_current_xact_id_if_assigned();
    v_entry bigint := 0;
    v_change bigint := 0;
    v_head text;
    v_node text := ledger._node_id();
    v_low_xip xid8[];
    v_ids bigint[];
    v_nos bigint[];
    v_statuses text[];
    v_times timestamptz[];
BEGIN
    PERFORM ledger._check_access(p_tenant, false);
    PERFORM ledger._check_name('tenant', p_tenant, false);
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        PERFORM ledger._raise('22023', 'p_limit must be between 1 and 1000',
            format('limit=%s', coalesce(p_limit::text, 'NULL')));
    END IF;
    IF p_after IS NOT NULL THEN
        v_parts := regexp_match(p_after,
            '^(n|[0-9]{1,19}:[0-9]{1,19}:(?:[0-9]{1,19}(?:,[0-9]{1,19})*)?)/(n|[0-9]{1,19}:[0-9]{1,19}:(?:[0-9]{1,19}(?:,[0-9]{1,19})*)?)/([0-9]{1,18})/([0-9]{1,18})/(-?[0-9]{1,20}\.[0-9]{1,20})/([0-9a-f]{16})$');
        IF v_parts IS NULL
           OR v_parts[6] <> left(md5(p_tenant || '/' || left(p_after, length(p_after) - 17)), 16) THEN
            PERFORM ledger._raise('22023', 'cursor is not one of this tenant''s ledger.changes cursors',
                format('tenant=%s', p_tenant), 'Pass NULL or the cursor of a row ledger.changes returned for this tenant.');
        END IF;
        IF v_parts[5] <> v_node THEN
            PERFORM ledger._raise('72000', 'cursor was made on another server',
                format('tenant=%s node=%s cursor_node=%s', p_tenant, v_node, v_parts[5]),
                'The tenant''s rows have moved (a Citus shard move), the database was restored elsewhere, or the server restarted (a crash, a failover): read again from NULL with idempotent handlers.');
        END IF;
        v_low := ledger._changes_snapshot(v_parts[1]);
        v_high := ledger._changes_snapshot(v_parts[2]);
        v_entry := v_parts[3]::bigint;
        v_change := v_parts[4]::bigint;
    END IF;
    -- This transaction's own writes are not committed: count it as in progress, so they come
    -- in a later batch once it commits (and never if it rolls back). At or above xmax it
    -- already is (xmax is the latest completed xid + 1, not the next one to be assigned).
    IF v_own < pg_snapshot_xmax(v_now) THEN
        v_now := format('%s:%s:%s', least(pg_snapshot_xmin(v_now), v_own), pg_snapshot_xmax(v_now),
                        (SELECT string_agg(x::text, ',' ORDER BY x)
                           FROM (SELECT pg_snapshot_xip(v_now) AS x UNION SELECT v_own) AS xs))::pg_snapshot;
    END IF;
    -- A caller whose snapshot is older than the cursor's newest (a REPEATABLE READ
    -- transaction begun before the cursor was made) cannot see what the cursor already
    -- covers: return nothing rather than skip or repeat a change.
    IF pg_snapshot_xmax(coalesce(v_high, v_low)) > pg_snapshot_xmax(v_now)
       OR EXISTS (SELECT FROM pg_snapshot_xip(v_now) AS x
                   WHERE pg_visible_in_snapshot(x, coalesce(v_high, v_low))) THEN
        RETURN;
    END IF;
    IF v_high IS NULL THEN
        v_high := v_now;
        v_entry := 0;
        v_change := 0;
    END IF;

    -- The page plus one row, in (entry_id, change) order (creation first: change 0); the
    -- extra row only tells whether the batch goes on after the page.
    IF v_low IS NULL THEN
        -- The first batch is the history itself, walked in entry_id order (the primary keys).
        SELECT array_agg(p.entry_id ORDER BY p.entry_id, p.change_no),
               array_agg(p.change_no ORDER BY p.entry_id, p.change_no),
               array_agg(p.status ORDER BY p.entry_id, p.change_no),
               array_agg(p.changed_at ORDER BY p.entry_id, p.change_no)
          INTO v_ids, v_nos, v_statuses, v_times
          FROM ((SELECT e.entry_id, 0::bigint AS change_no,
                        coalesce((SELECT c.previous_status FROM ledger.entry_status_change AS c
                                   WHERE c.tenant_id = p_tenant AND c.entry_id = e.entry_id
                                   ORDER BY c.change_id LIMIT 1), e.status) AS status,
                        e.created_at AS changed_at
                   FROM ledger.entry AS e
                  WHERE e.tenant_id = p_tenant AND e.entry_id > v_entry
                    AND (e.created_xid IS NULL OR pg_visible_in_snapshot(e.created_xid, v_high))
                  ORDER BY e.entry_id LIMIT p_limit + 1)
                UNION ALL
                (SELECT c.entry_id, c.change_id, c.status, c.changed_at
                   FROM ledger.entry_status_change AS c
                  WHERE c.tenant_id = p_tenant AND (c.entry_id, c.change_id) > (v_entry, v_change)
                    AND pg_visible_in_snapshot(c.changed_xid, v_high)
                  ORDER BY c.entry_id, c.change_id LIMIT p_limit + 1)
                ORDER BY 1, 2 LIMIT p_limit + 1) AS p;
    ELSE
        -- Later batches: the changes whose xid is visible in high and was not in low, found
        -- by index: xids low saw in progress, and the range from low's xmax (every other xid
        -- below it was visible in low), so a long transaction elsewhere widens nothing;
        -- materialized so that these probes, not an entry_id walk, find them.
        v_low_xip := ARRAY(SELECT pg_snapshot_xip(v_low));
        WITH created AS MATERIALIZED (
            SELECT e.entry_id, e.status, e.created_at
              FROM ledger.entry AS e
             WHERE e.tenant_id = p_tenant
               AND (e.created_xid = ANY (v_low_xip) OR e.created_xid >= pg_snapshot_xmax(v_low))
               AND e.created_xid < pg_snapshot_xmax(v_high)
               AND pg_visible_in_snapshot(e.created_xid, v_high)
               AND NOT pg_visible_in_snapshot(e.created_xid, v_low)
               AND e.entry_id > v_entry
        ), changed AS MATERIALIZED (
            SELECT c.entry_id, c.change_id, c.status, c.changed_at
              FROM ledger.entry_status_change AS c
             WHERE c.tenant_id = p_tenant
               AND (c.changed_xid = ANY (v_low_xip) OR c.changed_xid >= pg_snapshot_xmax(v_low))
               AND c.changed_xid < pg_snapshot_xmax(v_high)
               AND pg_visible_in_snapshot(c.changed_xid, v_high)
               AND NOT pg_visible_in_snapshot(c.changed_xid, v_low)
               AND (c.entry_id, c.change_id) > (v_entry, v_change)
        )
        SELECT array_agg(p.entry_id ORDER BY p.entry_id, p.change_no),
               array_agg(p.change_no ORDER BY p.entry_id, p.change_no),
               array_agg(p.status ORDER BY p.entry_id, p.change_no),
               array_agg(p.changed_at ORDER BY p.entry_id, p.change_no)
          INTO v_ids, v_nos, v_statuses, v_times
          FROM ((SELECT d.entry_id, 0::bigint AS change_no,
                        coalesce((SELECT c.previous_status FROM ledger.entry_status_change AS c
                                   WHERE c.tenant_id = p_tenant AND c.entry_id = d.entry_id
                                   ORDER BY c.change_id LIMIT 1), d.status) AS status,
                        d.created_at AS changed_at
                   FROM created AS d)
                UNION ALL
                (SELECT g.entry_id, g.change_id, g.status, g.changed_at FROM changed AS g)
                ORDER BY 1, 2 LIMIT p_limit + 1) AS p;
    END IF;

    -- Each row's cursor resumes after it; the batch's last row's moves on to the next batch.
    v_head := coalesce(v_low::text, 'n') || '/' || v_high::text || '/';
    RETURN QUERY
    SELECT b.body || '/' || left(md5(p_tenant || '/' || b.body), 16), b.id, b.status, b.at
      FROM (SELECT r.n, r.id, r.status, r.at,
                   CASE WHEN r.n = cardinality(v_ids) THEN v_high::text || '/n/0/0'
                        ELSE v_head || r.id || '/' || r.no END || '/' || v_node AS body
              FROM unnest(v_ids, v_nos, v_statuses, v_times) WITH ORDINALITY AS r (id, no, status, at, n)
             WHERE r.n <= p_limit) AS b
     ORDER BY b.n;
END
$$;
COMMENT ON FUNCTION ledger.changes(text, text, integer) IS
    'The change feed: entries created and status changes (capture, void, expiry, full reversal) of the tenant, each committed change exactly once when read from the last row''s cursor, none uncommitted; at most p_limit (1..1000) rows; 22023 for a cursor that is not this tenant''s, 72000 for one made on another server (start over from NULL).';
