"""A change-feed consumer beside the workers, and the oracle's check of what it saw.

The consumer reads ledger.changes for the run's tenant the way docs/changes.md tells an
application to: it processes a page (here: appends it to `seen`) and only then moves its
cursor to the page's last row, so a connection lost mid-read repeats the read from the
stored cursor. Faults hit it too (a crash or failover drops its connection; it reconnects
and resumes). After the load and the resolution of leftovers it reads to the end.

The check: every committed change of the tenant (entries created, status changes) was seen
exactly once and nothing else was; every call acknowledged ok that names an entry and a
kernel status saw that (entry, status) in the feed; each entry's changes came in the order
they were made.

A cursor refused with 72000 (made on another server: on Citus, the tenant's shards moved to
another node) makes the consumer start over from NULL, as docs/changes.md says. The check then
holds the reads since the last restart to the same rules, except that a change copied by the
move whose transaction id the new node has not yet passed may still be to come (and an
entry's changes may then come out of order); nothing before the restart may be unknown or
repeated either.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence

import psycopg

from pgbalance.harness.stress.model import Anomaly, Conn, Op, is_connection_loss
from pgbalance.harness.stress.workload.base import fetch

FEED_APP = "pgbalance-stress-feed"
KERNEL_STATUSES = frozenset({"posted", "pending", "voided", "reversed"})
Change = tuple[int, str]  # (entry_id, status after the change)

# Every committed change of a tenant, from the tables, in the feed's order per entry.
_COMMITTED = """
SELECT e.entry_id,
       coalesce((SELECT c.previous_status FROM ledger.entry_status_change AS c
                  WHERE c.tenant_id = e.tenant_id AND c.entry_id = e.entry_id
                  ORDER BY c.change_id LIMIT 1), e.status) AS status, 0 AS change_no
  FROM ledger.entry AS e WHERE e.tenant_id = %s
UNION ALL
SELECT c.entry_id, c.status, c.change_id FROM ledger.entry_status_change AS c
 WHERE c.tenant_id = %s
ORDER BY 1, 3
"""


# The committed changes whose transaction id the tenant's node has not yet passed (only rows
# copied from another node can have one): a read from NULL after a move shows them later.
_LATE = """
SELECT e.entry_id,
       coalesce((SELECT c.previous_status FROM ledger.entry_status_change AS c
                  WHERE c.tenant_id = e.tenant_id AND c.entry_id = e.entry_id
                  ORDER BY c.change_id LIMIT 1), e.status) AS status
  FROM ledger.entry AS e
 WHERE e.tenant_id = %s AND NOT pg_visible_in_snapshot(e.created_xid, pg_current_snapshot())
UNION ALL
SELECT c.entry_id, c.status FROM ledger.entry_status_change AS c
 WHERE c.tenant_id = %s AND NOT pg_visible_in_snapshot(c.changed_xid, pg_current_snapshot())
"""


_INTERNAL_RETRIES = 20


class FeedConsumer(threading.Thread):
    def __init__(self, dsn: Callable[[], str], tenant: str, stop: threading.Event) -> None:
        super().__init__(name="stress-feed", daemon=True)
        self.dsn = dsn
        self.tenant = tenant
        self.stop = stop
        self.cursor: str | None = None
        self.seen: list[Change] = []
        # Where each start-over from NULL (a cursor refused with 72000) began in `seen`.
        self.restarts: list[int] = []
        self.reads = 0
        self.internal_errors = 0  # reads Citus failed whole during a shard move (XX000)
        self._internal_in_a_row = 0
        self.problems: list[str] = []
        self._conn: Conn | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                if not self.read_page():
                    time.sleep(0.05)
        except Exception as exc:  # an anomaly of the harness, reported by check()
            self.problems.append(f"feed consumer died: {exc!r}")

    def read_page(self) -> int | None:
        """One read from the stored cursor: how many rows (None: no answer: the connection
        was lost, the cursor was refused and the next read starts over, or Citus failed the
        read whole). The rows count, and the cursor moves, only once the read is whole."""
        conn = self._connection()
        if conn is None:
            return None
        try:
            rows = fetch(
                conn,
                "SELECT cursor, entry_id, status FROM ledger.changes(%s, %s, 100)",
                (self.tenant, self.cursor),
            )
        except psycopg.Error as exc:
            if exc.sqlstate == "72000":  # a cursor of another server: start over from NULL
                self.restarts.append(len(self.seen))
                self.cursor = None
                return None
            # A read that Citus fails whole while a shard group switches nodes (XX000 "could
            # not find valid entry for shard"), as it fails a worker's call: nothing was read
            # and the cursor stays; read again on a new connection (fresh shard metadata), a
            # few times in a row at most.
            if exc.sqlstate == "XX000" and self._internal_in_a_row < _INTERNAL_RETRIES:
                self._internal_in_a_row += 1
                self.internal_errors += 1
                self._drop()
                return None
            if not is_connection_loss(exc, conn):
                raise
            self._drop()
            return None
        self._internal_in_a_row = 0
        self.reads += 1
        self.seen += [(r["entry_id"], r["status"]) for r in rows]
        if rows:
            self.cursor = rows[-1]["cursor"]
        return len(rows)

    def finish(self, timeout: float) -> None:
        """After the load: stop, then read until a read comes back empty (reconnecting for
        at most `timeout` seconds)."""
        self.stop.set()
        self.join(timeout)
        until = time.monotonic() + timeout
        try:
            while time.monotonic() < until:
                n = self.read_page()
                if n == 0:
                    return
                if n is None:
                    time.sleep(0.1)
            self.problems.append(f"feed consumer could not read to the end in {timeout:.0f}s")
        finally:
            self._drop()

    def check(self, conn: Conn, ops: Sequence[Op]) -> list[Anomaly]:
        anomalies = [Anomaly("feed", "consumer", p) for p in self.problems]
        committed = [
            (r["entry_id"], r["status"])
            for r in fetch(conn, _COMMITTED, (self.tenant, self.tenant))
        ]
        if self.restarts:
            return anomalies + self._check_restarted(conn, ops, committed)
        seen, wanted = Counter(self.seen), Counter(committed)
        for change, n in sorted((seen - wanted).items()):
            anomalies.append(Anomaly("feed_seen_once", f"entry {change[0]} {change[1]}",
                                     f"seen {n} more time(s) than committed"))  # fmt: skip
        for change, n in sorted((wanted - seen).items()):
            anomalies.append(Anomaly("feed_missing", f"entry {change[0]} {change[1]}",
                                     f"committed but not seen ({n})"))  # fmt: skip
        if not anomalies and _per_entry(self.seen) != _per_entry(committed):
            anomalies.append(
                Anomaly("feed_order", "entries", "an entry's changes came out of order")
            )
        acknowledged = {
            (r["entry_id"], r["status"])
            for op in ops
            if op.ok
            for r in op.rows
            if r.get("entry_id") is not None and r.get("status") in KERNEL_STATUSES
        }
        for entry_id, status in sorted(acknowledged - set(self.seen)):
            anomalies.append(
                Anomaly("feed_acknowledged", f"entry {entry_id} {status}",
                        "a call answered ok with it; the feed never showed it")
            )  # fmt: skip
        return anomalies

    def _check_restarted(
        self, conn: Conn, ops: Sequence[Op], committed: list[Change]
    ) -> list[Anomaly]:
        anomalies: list[Anomaly] = []
        # What is still to come, then one more read to the end: a change that the node's xids
        # pass in between is in one or the other.
        rows = fetch(conn, _LATE, (self.tenant, self.tenant))
        late = {(r["entry_id"], r["status"]) for r in rows}
        try:
            for _ in range(1000):
                if not self.read_page():
                    break
        finally:
            self._drop()
        # Each run of reads (before a restart, since it) is held to exactly once on its own.
        wanted = Counter(committed)
        starts = [0, *self.restarts]
        for start, end in zip(starts, [*self.restarts, len(self.seen)], strict=True):
            part = Counter(self.seen[start:end])
            for change, n in sorted((part - wanted).items()):
                anomalies.append(Anomaly("feed_seen_once", f"entry {change[0]} {change[1]}",
                                         f"seen {n} more time(s) than committed"))  # fmt: skip
        last = set(self.seen[self.restarts[-1] :])
        for change in sorted(set(committed) - last - late):
            anomalies.append(Anomaly("feed_missing", f"entry {change[0]} {change[1]}",
                                     "not seen since the restart, and not to come"))  # fmt: skip
        acknowledged = {
            (r["entry_id"], r["status"])
            for op in ops
            if op.ok
            for r in op.rows
            if r.get("entry_id") is not None and r.get("status") in KERNEL_STATUSES
        }
        for entry_id, status in sorted(acknowledged - last - late):
            anomalies.append(
                Anomaly("feed_acknowledged", f"entry {entry_id} {status}",
                        "a call answered ok with it; the feed never showed it since the restart")
            )  # fmt: skip
        return anomalies

    def _connection(self) -> Conn | None:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._drop()
            try:
                self._conn = psycopg.connect(self.dsn(), autocommit=True, connect_timeout=3,
                                             application_name=FEED_APP)  # fmt: skip
            except psycopg.Error:
                return None
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


def _per_entry(changes: Sequence[Change]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for entry_id, status in changes:
        out.setdefault(entry_id, []).append(status)
    return out
