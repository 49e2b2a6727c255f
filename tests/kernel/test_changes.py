"""ledger.changes, the change feed: every committed entry and status change exactly once,
nothing uncommitted, no gaps (a transaction that began before a read and commits after it is
seen by a later read), cursors bound to their tenant, pages stable under concurrent writers."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.kernel.support import Ledger, detail, new_key, raises, tag_cursor

Change = tuple[int, str]  # (entry_id, status after the change)


def read(book: Ledger, after: str | None, limit: int = 100) -> list[dict[str, Any]]:
    return book.rows("SELECT * FROM ledger.changes(%s, %s, %s)", (book.tenant, after, limit))


def drain(book: Ledger, after: str | None, limit: int = 3) -> tuple[list[Change], str | None]:
    """Read page after page from `after` until a read returns nothing, as a consumer does:
    always from the last row's cursor. Returns the changes and the cursor to resume from."""
    seen: list[Change] = []
    while rows := read(book, after, limit):
        assert len(rows) <= limit
        seen += [(r["entry_id"], r["status"]) for r in rows]
        after = rows[-1]["cursor"]
    return seen, after


@pytest.fixture
def ab(ledger: Ledger) -> Ledger:
    """Accounts a -> b, and c -> d for a transaction left open beside them (it holds its
    accounts' locks until it ends)."""
    for code in ("a", "b", "c", "d"):
        ledger.open(code)
    ledger.fund("a", 10_000)
    ledger.fund("c", 10_000)
    return ledger


def test_every_kind_of_change_once_in_entry_order(ab: Ledger) -> None:
    _, cursor = drain(ab, None)
    t = ab.transfer("t", "a", "b", 10)["entry_id"]
    e = ab.post("e", [("a", -5), ("b", 5)])["entry_id"]
    captured = ab.hold("h1", "a", "b", 30)["entry_id"]
    ab.capture(captured)
    voided = ab.hold("h2", "a", "b", 40)["entry_id"]
    ab.void(voided)
    expired = ab.hold("h3", "a", "b", 50, expires_at=ab.now() - timedelta(seconds=1))["entry_id"]
    assert ab.expire_holds() == 1
    partial = ab.reverse("r1", t, 4)["entry_id"]  # a partial reversal changes no status
    full = ab.reverse("r2", e)["entry_id"]
    seen, cursor = drain(ab, cursor)
    assert seen == [
        (t, "posted"),
        (e, "posted"), (e, "reversed"),
        (captured, "pending"), (captured, "posted"),
        (voided, "pending"), (voided, "voided"),
        (expired, "pending"), (expired, "voided"),
        (partial, "posted"),
        (full, "posted"),
    ]  # fmt: skip
    assert drain(ab, cursor)[0] == []
    # From the start, the whole history again, funding included, each change once.
    everything, _ = drain(ab, None, limit=1)
    assert everything[-len(seen) :] == seen and len(everything) == len(seen) + 2


def test_replays_failures_and_rollbacks_add_nothing(ab: Ledger, kconnect: Any) -> None:
    held = ab.hold("h", "a", "b", 30)["entry_id"]
    ab.transfer("t", "a", "b", 10)
    ab.capture(held)
    _, cursor = drain(ab, None)
    assert ab.transfer("t", "a", "b", 10)["replayed"] is True
    assert ab.hold("h", "a", "b", 30)["replayed"] is True
    with raises("PB001"):
        ab.transfer(new_key(), "a", "b", 10**9)
    with raises("PB003"):
        ab.transfer("t", "a", "b", 11)
    with raises("PB004"):
        ab.void(held)
    conn = kconnect(autocommit=False)
    other = Ledger(conn, ab.tenant)
    other.transfer(new_key(), "a", "b", 1)
    other.capture(other.hold(new_key(), "a", "b", 2)["entry_id"])
    conn.rollback()
    assert drain(ab, cursor)[0] == []


def test_a_late_commit_with_a_lower_id_is_not_skipped(ab: Ledger, kconnect: Any) -> None:
    """The outbox trap: transaction 1 takes the lower entry_id (and xid), transaction 2 the
    higher; 2 commits, a reader reads, then 1 commits. A cursor 'past the highest id seen'
    skips 1 for ever; the feed's cursor does not."""
    _, cursor = drain(ab, None)
    slow = kconnect(autocommit=False)
    early = Ledger(slow, ab.tenant).transfer(new_key(), "c", "d", 1)["entry_id"]
    late = ab.transfer(new_key(), "a", "b", 2)["entry_id"]
    assert early < late
    first, cursor = drain(ab, cursor)
    assert first == [(late, "posted")]  # the uncommitted one is not returned
    highest_seen = max(entry_id for entry_id, _ in first)
    slow.commit()
    second, cursor = drain(ab, cursor)
    assert second == [(early, "posted")]
    naive = ab.rows(
        "SELECT entry_id FROM ledger.entry WHERE tenant_id = %s AND entry_id > %s",
        (ab.tenant, highest_seen),
    )
    assert naive == []  # what an id cursor would read: the late commit is lost
    assert drain(ab, cursor)[0] == []


def test_a_status_change_committing_late_is_not_skipped(ab: Ledger, kconnect: Any) -> None:
    held = ab.hold("h", "c", "d", 5)["entry_id"]
    _, cursor = drain(ab, None)
    slow = kconnect(autocommit=False)
    Ledger(slow, ab.tenant).capture(held)
    newer = ab.transfer(new_key(), "a", "b", 1)["entry_id"]
    seen, cursor = drain(ab, cursor)
    assert seen == [(newer, "posted")]
    slow.commit()
    assert drain(ab, cursor)[0] == [(held, "posted")]


def test_own_uncommitted_writes_come_after_commit(ab: Ledger, kconnect: Any) -> None:
    """A reader that also writes in its transaction does not see its own uncommitted
    changes, and its cursor does not pass them: they come once it commits."""
    _, cursor = drain(ab, None)
    conn = kconnect(autocommit=False)
    mine = Ledger(conn, ab.tenant)
    own = mine.transfer(new_key(), "c", "d", 1)["entry_id"]
    # Its xid is at or above the snapshot's xmax here (the newest), below it just after.
    assert read(mine, cursor) == []
    other = ab.transfer(new_key(), "a", "b", 1)["entry_id"]
    seen, inside = drain(mine, cursor)
    assert seen == [(other, "posted")]
    conn.commit()
    assert drain(ab, inside)[0] == [(own, "posted")]


def test_a_cursor_newer_than_the_callers_snapshot_returns_nothing(
    ab: Ledger, kconnect: Any
) -> None:
    conn = kconnect(autocommit=False)
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    old = Ledger(conn, ab.tenant)
    old.rows("SELECT 1")  # the transaction's snapshot is taken here
    ab.transfer(new_key(), "a", "b", 1)
    _, cursor = drain(ab, None)
    made = ab.transfer(new_key(), "a", "b", 1)["entry_id"]
    assert read(old, cursor) == []  # cannot see the batch: returns it to no one
    paging = read(ab, None, 1)[0]["cursor"]  # inside the first batch, which `old` cannot see
    assert read(old, paging) == []
    conn.rollback()
    assert drain(ab, cursor)[0] == [(made, "posted")]


def test_limits_and_cursors_are_checked(ab: Ledger, ledger_factory: Any) -> None:
    rows = read(ab, None, 1)
    cursor = rows[0]["cursor"]
    for limit in (0, -1, 1001, None):
        with raises("22023"):
            read(ab, None, limit)  # type: ignore[arg-type]
    assert len(read(ab, None, 1000)) == 2 and len(read(ab, cursor, 1)) == 1
    stranger = ledger_factory()
    with raises("22023"):
        read(stranger, cursor)  # another tenant's cursor
    low, high, entry, change, node, tag = cursor.split("/")
    for bad in ("junk", "", cursor + "x", cursor[:-1] + ("0" if cursor[-1] != "0" else "1"),
                f"{low}/{high}/{int(entry) + 1}/{change}/{node}/{tag}",
                f"{low}/{high}/{entry}/{change}/{node}1/{tag}"):  # fmt: skip
        with raises("22023"):
            read(ab, bad)
    # A well-tagged cursor whose snapshot is not one (xmin above xmax): 22023, not a cast error.
    body = f"9:5:/n/0/0/{node}"
    with raises("22023"):
        read(ab, tag_cursor(ab.conn, ab.tenant, body))
    with raises("22023"):
        ab.rows("SELECT * FROM ledger.changes(NULL, NULL, 1)")


def test_a_cursor_made_on_another_server_is_refused(ab: Ledger) -> None:
    """Transaction ids and snapshots belong to one server: a well-tagged cursor that names
    another one (a Citus node the tenant moved from, or this server before it restarted) is
    72000, never read as if it were this server's; the same cursor with this server's identity
    reads on."""
    cursor = read(ab, None, 1)[0]["cursor"]
    low, high, entry, change, node, _ = cursor.split("/")
    server, started = node.split(".")
    other = f"{server}.{int(started) - 1}"  # the same server, before a restart

    def tagged(server: str) -> str:
        return tag_cursor(ab.conn, ab.tenant, f"{low}/{high}/{entry}/{change}/{server}")

    assert tagged(node) == cursor  # the forgery below is well made
    with raises("72000") as info:
        read(ab, tagged(other))
    assert detail(info) == {"tenant": ab.tenant, "node": node, "cursor_node": other}
    assert len(read(ab, cursor)) == 1


def test_a_bound_role_reads_only_its_tenants(ab: Ledger, kernel_dsn: str) -> None:
    role = f"pgb_changes_test_{uuid.uuid4().hex[:10]}"
    ab.conn.execute(
        sql.SQL("CREATE ROLE {} LOGIN IN ROLE pgbalance_app").format(sql.Identifier(role))
    )
    other = f"{ab.tenant}-other"
    try:
        ab.rows("SELECT ledger.grant_tenant(%s, %s)", (other, role))
        with psycopg.connect(kernel_dsn, user=role, autocommit=True) as conn:
            with raises("42501"):
                read(Ledger(conn, ab.tenant), None)
            assert read(Ledger(conn, other), None) == []
    finally:
        ab.rows("DELETE FROM ledger.tenant_grant WHERE role_name = %s", (role,))
        ab.conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_the_feed_columns_are_guarded(ab: Ledger) -> None:
    held = ab.hold("h", "a", "b", 5)["entry_id"]
    ab.void(held)
    with raises("PB009"):
        ab.rows(
            "UPDATE ledger.entry SET created_xid = '1' WHERE tenant_id = %s AND entry_id = %s",
            (ab.tenant, held),
        )
    for statement in (
        "UPDATE ledger.entry_status_change SET status = 'posted' WHERE tenant_id = %s",
        "DELETE FROM ledger.entry_status_change WHERE tenant_id = %s",
    ):
        with raises("PB009"):
            ab.rows(statement, (ab.tenant,))


def test_later_batches_are_found_by_the_xid_index(ab: Ledger) -> None:
    """The read after a cursor probes the (tenant_id, created_xid) index for the window
    since the cursor, not the tenant's history (auto_explain's plan of the batch query)."""
    for n in range(30):
        ab.rows(
            "SELECT count(*) FROM ledger.transfer_batch(%s, (SELECT jsonb_agg(jsonb_build_object("
            "'key', %s || i, 'from', 'a', 'to', 'b', 'amount', 1))"
            " FROM generate_series(1, 100) i))",
            (ab.tenant, f"batch{n}-"),
        )
    ab.rows("ANALYZE ledger.entry")
    _, cursor = drain(ab, None, limit=1000)
    ab.transfer(new_key(), "a", "b", 1)
    plans: list[str] = []

    def keep(diag: psycopg.errors.Diagnostic) -> None:
        plans.append(diag.message_primary or "")

    ab.rows("LOAD 'auto_explain'")
    ab.conn.add_notice_handler(keep)
    try:
        for setting in ("auto_explain.log_min_duration = 0",
                        "auto_explain.log_nested_statements = on",
                        "auto_explain.log_level = notice"):  # fmt: skip
            ab.rows(f"SET {setting}")
        assert len(read(ab, cursor)) == 1
    finally:
        ab.rows("RESET auto_explain.log_min_duration")
        ab.conn.remove_notice_handler(keep)
    batch = [p for p in plans if "created AS MATERIALIZED" in p]
    assert len(batch) == 1, plans
    assert "entry_created_xid_idx" in batch[0], batch[0]
    assert "Seq Scan on entry" not in batch[0] and "entry_pkey" not in batch[0], batch[0]


def test_pages_stay_exact_under_concurrent_writers(ab: Ledger, kconnect: Any) -> None:
    """Writers transfer, hold, capture and void in parallel (some of their transactions
    roll back) while a reader pages 7 rows at a time; once they stop, the reader has seen
    every committed change exactly once, creation before each status change."""
    _, cursor = drain(ab, None)
    first = ab.scalar("SELECT max(entry_id) + 1 AS n FROM ledger.entry WHERE tenant_id = %s",
                      (ab.tenant,))  # fmt: skip
    stop = threading.Event()
    errors: list[BaseException] = []
    committed: list[int] = []  # one item per committed writer transaction

    def writer(conn: psycopg.Connection[Any], i: int) -> None:
        book = Ledger(conn, ab.tenant)
        n = 0
        while not stop.is_set():
            n += 1
            try:
                with conn.transaction():
                    book.transfer(new_key(), "a", "b", 1)
                    held = book.hold(new_key(), "a", "b", 1)["entry_id"]
                    (book.capture if n % 2 else book.void)(held)
                    if n % 5 == 0:
                        raise _Rollback
                committed.append(i)
            except _Rollback:
                pass
            except BaseException as exc:  # reported by the test below
                errors.append(exc)
                return

    conns = [kconnect() for _ in range(3)]
    threads = [threading.Thread(target=writer, args=(c, i)) for i, c in enumerate(conns)]
    for thread in threads:
        thread.start()
    seen: list[Change] = []
    reads = 0
    try:
        # At least 60 reads, and on a slow machine until the writers have committed a few.
        while reads < 60 or (len(committed) < 12 and reads < 5000):
            rows = read(ab, cursor, 7)
            reads += 1
            seen += [(r["entry_id"], r["status"]) for r in rows]
            cursor = rows[-1]["cursor"] if rows else cursor
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert not errors, errors
    rest, _ = drain(ab, cursor, 7)
    seen += rest
    expected = _committed_changes(ab, first)
    assert len(expected) > 20
    assert Counter(seen) == Counter(expected) and len(seen) == len(set(seen))
    # Each entry's changes in the order they committed (creation, then capture or void).
    assert _by_entry(seen) == _by_entry(expected)


def _by_entry(changes: list[Change]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for entry_id, status in changes:
        out.setdefault(entry_id, []).append(status)
    return out


class _Rollback(Exception):
    """Raised inside a writer's transaction to roll it back."""


def _committed_changes(book: Ledger, after: int) -> list[Change]:
    """Every committed change of entries from `after` on, from the tables themselves."""
    rows = book.rows(
        "SELECT e.entry_id, coalesce((SELECT c.previous_status FROM ledger.entry_status_change c"
        "  WHERE c.tenant_id = e.tenant_id AND c.entry_id = e.entry_id ORDER BY c.change_id"
        "  LIMIT 1), e.status) AS status, 0 AS n FROM ledger.entry e"
        " WHERE e.tenant_id = %s AND e.entry_id >= %s"
        " UNION ALL SELECT c.entry_id, c.status, c.change_id FROM ledger.entry_status_change c"
        " WHERE c.tenant_id = %s AND c.entry_id >= %s ORDER BY 1, 3",
        (book.tenant, after, book.tenant, after),
    )
    return [(r["entry_id"], r["status"]) for r in rows]


@pytest.fixture
def ledger_factory(kernel_conn: psycopg.Connection[Any]) -> Callable[[], Ledger]:
    return lambda: Ledger(kernel_conn, f"t-{uuid.uuid4().hex[:12]}")


def test_client_iterator_and_listen_command(
    ab: Ledger, kernel_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from pgbalance import Client
    from pgbalance.cli import main

    held = ab.hold("h", "a", "b", 5)["entry_id"]
    ab.capture(held)
    with Client(kernel_dsn) as client:
        changes = list(client.changes(ab.tenant, limit=2))
        assert [(c.entry_id, c.status) for c in changes][-2:] == [
            (held, "pending"),
            (held, "posted"),
        ]
        assert list(client.changes(ab.tenant, changes[-1].cursor)) == []
        middle = changes[-2].cursor
    assert main(["listen", "--dsn", kernel_dsn, "--tenant", ab.tenant, "--from", middle,
                 "--once"]) == 0  # fmt: skip
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(x["entry_id"], x["status"]) for x in lines] == [(held, "posted")]
    assert lines[-1]["cursor"] == changes[-1].cursor


def test_the_example_consumer_handles_each_change_once(ab: Ledger, kernel_dsn: str) -> None:
    """examples/changes_consumer.py: cursor and side effect in one transaction per page."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "changes_consumer.py"
    spec = importlib.util.spec_from_file_location("changes_consumer", path)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    held = ab.hold("h", "a", "b", 5)["entry_id"]
    ab.void(held)
    try:
        assert example.main([kernel_dsn, ab.tenant, "--once"]) == 0
        ab.capture(ab.hold("h2", "a", "b", 5)["entry_id"])
        assert example.main([kernel_dsn, ab.tenant, "--once"]) == 0
        # A stored cursor of this server before a restart (72000): the consumer starts over.
        stored = ab.scalar("SELECT cursor FROM feed_example.cursor WHERE tenant = %s", (ab.tenant,))
        low, high, entry, change, node, _ = stored.split("/")
        server, started = node.split(".")
        body = f"{low}/{high}/{entry}/{change}/{server}.{int(started) - 1}"
        ab.rows("UPDATE feed_example.cursor SET cursor = %s WHERE tenant = %s RETURNING tenant",
                (tag_cursor(ab.conn, ab.tenant, body), ab.tenant))  # fmt: skip
        ab.void(ab.hold("h3", "a", "b", 5)["entry_id"])
        assert example.main([kernel_dsn, ab.tenant, "--once"]) == 0
        notices = ab.rows(
            "SELECT entry_id, status FROM feed_example.notice WHERE tenant = %s"
            " ORDER BY entry_id, changed_at",
            (ab.tenant,),
        )
        everything, _ = drain(ab, None, limit=1000)
        assert sorted((n["entry_id"], n["status"]) for n in notices) == sorted(everything)
    finally:
        ab.rows("DROP SCHEMA IF EXISTS feed_example CASCADE")


def test_async_client_iterates_the_feed(ab: Ledger, kernel_dsn: str) -> None:
    import asyncio

    from pgbalance.aio import AsyncClient

    held = ab.hold("h", "a", "b", 5)["entry_id"]
    ab.void(held)

    async def collect() -> list[tuple[int, str]]:
        async with AsyncClient(kernel_dsn) as client:
            return [(c.entry_id, c.status) async for c in client.changes(ab.tenant, limit=2)]

    assert asyncio.run(collect()) == drain(ab, None)[0]
