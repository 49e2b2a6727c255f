"""The stress harness's change-feed consumer (pgbalance.harness.stress.consumer): it reads the feed
beside the load (every run of tests/stress/test_harness.py, under each fault kind, includes
its check); here its check is shown clean on a real feed and red on each kind of lie."""

from __future__ import annotations

import threading
from typing import Any

import psycopg

from pgbalance.harness.stress.consumer import FeedConsumer
from pgbalance.harness.stress.model import Call, Op
from tests.kernel.support import tag_cursor


def _fill(conn: psycopg.Connection[Any], tenant: str) -> None:
    for code, floor in (("a", None), ("b", 0)):
        conn.execute(
            "SELECT ledger.open_account(%s, %s, 'EUR', %s::bigint, NULL, '{}')",
            (tenant, code, floor),
        )
    for i in range(5):
        conn.execute("SELECT ledger.transfer(%s, %s, 'a', 'b', 10, '{}')", (tenant, f"t{i}"))
    held = conn.execute(
        "SELECT entry_id FROM ledger.hold(%s, 'h', 'a', 'b', 5, NULL, '{}')", (tenant,)
    ).fetchone()
    assert held is not None
    conn.execute("SELECT ledger.capture(%s, %s, NULL)", (tenant, held[0]))


def _ok(rows: list[dict[str, Any]]) -> Op:
    call = Call(scenario="t", kind="transfer", subject="s", args={}, allowed=frozenset())
    return Op(id=1, worker=0, call=call, first="ok", outcome="ok", rows=rows)


def test_the_consumer_check_is_clean_and_sees_each_lie(db: psycopg.Connection[Any], dsn: str,
                                                       tenant: str) -> None:  # fmt: skip
    _fill(db, tenant)
    feed = FeedConsumer(lambda: dsn, tenant, threading.Event())
    feed.start()
    feed.finish(30)
    assert len(feed.seen) == 7  # five transfers, the hold, its capture
    held = feed.seen[-1][0]
    assert feed.check(db, [_ok([{"entry_id": held, "status": "posted"}])]) == []

    def checks(seen: list[tuple[int, str]], ops: list[Op] | None = None) -> set[str]:
        feed.seen = seen
        return {a.check for a in feed.check(db, ops or [])}

    good = list(feed.seen)
    assert checks(good + good[:1]) == {"feed_seen_once"}
    assert checks(good[1:]) == {"feed_missing"}
    assert checks(good[:-2] + [good[-1], good[-2]]) == {"feed_order"}
    assert checks(good, [_ok([{"entry_id": 10**12, "status": "posted"}])]) == {"feed_acknowledged"}


def test_a_cursor_of_another_server_starts_the_consumer_over(
    db: psycopg.Connection[Any], dsn: str, tenant: str
) -> None:
    """A cursor refused with 72000 (made on another server, as after a Citus move) makes the
    consumer read again from NULL; its check then holds the reads since the restart to the
    committed changes, and still sees each lie."""
    _fill(db, tenant)
    row = db.execute("SELECT cursor FROM ledger.changes(%s, NULL, 1)", (tenant,)).fetchone()
    assert row is not None
    low, high, entry, change, node, _ = str(row[0]).split("/")
    feed = FeedConsumer(lambda: dsn, tenant, threading.Event())
    feed.cursor = tag_cursor(db, tenant, f"{low}/{high}/{entry}/{change}/{node}1")
    feed.start()
    feed.finish(30)
    assert feed.restarts == [0] and len(feed.seen) == 7
    assert feed.check(db, []) == []

    def checks(seen: list[tuple[int, str]], restarts: list[int]) -> set[str]:
        feed.seen, feed.restarts = seen, restarts
        return {a.check for a in feed.check(db, [])}

    good = list(feed.seen)
    assert checks(good[:2] + good, [2]) == set()  # history again after a restart: fine
    assert checks(good[1:], [0]) == {"feed_missing"}
    assert checks(good + good[:1], [0]) == {"feed_seen_once"}
    assert checks([(10**12, "posted"), *good], [1]) == {"feed_seen_once"}  # before the restart
