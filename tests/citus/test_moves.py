"""A hot tenant moves under load: while the stress harness runs against its tenant, the tenant
gets a shard group of its own (isolate_tenant_to_new_shard) and that group moves to the other
worker (citus_move_shard_placement), the move started the moment the split returns. Nothing may
be lost or doubled, and verify stays clean.

Both with shard_transfer_mode 'block_writes' (writes wait while the shards are copied): the
non-blocking mode's logical replication stops here with "publisher did not send replica
identity column expected by the logical replication target relation ledger.account_<id>"
and retries forever (docs/scaling.md, Limits).

Citus's own locking would lose acknowledged writes here: a write blocked by the split is
rerouted to the new shard without that shard's metadata lock, so the move that follows copies
the shard without it and drops the placement it went to (docs/scaling.md, "Hot tenants").
Every write takes its tenant's shard metadata lock first (ledger._lock_placement);
`test_a_write_waits_for_a_move_of_its_tenant` shows the lock itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from rich.console import Console

from pgbalance.harness.stress.report import Report
from pgbalance.harness.stress.runner import StressConfig, run_stress
from tests.citus.conftest import needs_engine
from tests.kernel.support import Ledger

pytestmark = [pytest.mark.slow, pytest.mark.concurrency]


def placement(conn: psycopg.Connection[Any], tenant: str) -> tuple[int, str, int]:
    row = conn.execute(
        "SELECT shardid, nodename, nodeport FROM pg_dist_shard_placement"
        " WHERE shardid = get_shard_id_for_distribution_column('ledger.account', %s::text)",
        (tenant,),
    ).fetchone()
    assert row is not None
    return (int(row[0]), str(row[1]), int(row[2]))


def other_worker(conn: psycopg.Connection[Any], host: str, port: int) -> tuple[str, int]:
    row = conn.execute(
        "SELECT nodename, nodeport FROM pg_dist_node"
        " WHERE shouldhaveshards AND groupid <> 0 AND (nodename, nodeport) <> (%s, %s)",
        (host, port),
    ).fetchone()
    assert row is not None
    return (str(row[0]), int(row[1]))


@pytest.fixture(scope="module")
def moved(citus_dsn: str) -> Iterator[Report]:
    """One stress run (transfers, holds, batches, reversals and the change feed) during which
    its tenant is isolated and moved; the harness's report."""
    # A move that cannot finish (say, no background worker left for its logical replication)
    # waits forever: fail instead.
    with psycopg.connect(citus_dsn, autocommit=True,
                         options="-c statement_timeout=180s") as citus_conn:  # fmt: skip
        known = {r[0] for r in citus_conn.execute("SELECT DISTINCT tenant_id FROM ledger.account")}
        reports: list[Report] = []
        errors: list[BaseException] = []
        config = StressConfig(dsn=citus_dsn, workers=4, seconds=12.0, seed=21, migrate=False,
                              progress=False, scenario="transfers")  # fmt: skip

        def run() -> None:
            try:
                reports.append(run_stress(config, Console(quiet=True)))
            except BaseException as exc:  # re-raised below, in the test's thread
                errors.append(exc)

        load = threading.Thread(target=run)
        load.start()
        tenant = None
        for _ in range(100):  # the harness names its tenant itself: wait for its first account
            new = {
                r[0] for r in citus_conn.execute("SELECT DISTINCT tenant_id FROM ledger.account")
            }
            if new - known or not load.is_alive():
                tenant = (new - known or {None}).pop()
                break
            time.sleep(0.1)
        if errors:
            raise errors[0]
        assert tenant is not None
        time.sleep(1.0)  # under load
        citus_conn.execute(
            "SELECT isolate_tenant_to_new_shard('ledger.account', %s::text, 'CASCADE',"
            " shard_transfer_mode => 'block_writes')",
            (tenant,),
        )
        shard, host, port = placement(citus_conn, tenant)
        target = other_worker(citus_conn, host, port)
        citus_conn.execute(
            "SELECT citus_move_shard_placement(%s, %s, %s, %s, %s, 'block_writes')",
            (shard, host, port, *target),
        )
        assert placement(citus_conn, tenant)[1:] == target
        load.join(120)
        if errors:
            raise errors[0]
        assert not load.is_alive() and len(reports) == 1
        assert reports[0].tenant == tenant
        yield reports[0]


@needs_engine
def test_a_write_waits_for_a_move_of_its_tenant(
    citus_conn: psycopg.Connection[Any], ledger: Ledger
) -> None:
    """A block_writes move holds the shard group's metadata lock (ExclusiveLock) on every node
    while it copies. On the tenant's worker, taken here by hand, a capture waits for it before
    it reads anything: it holds no row lock and has no transaction id while it waits (Citus's
    own lock comes only with the first write, after the capture has locked the hold's row on
    the placement being copied). A read does not wait: it reads the placement as it is."""
    ledger.open("a", min_balance=None)
    ledger.open("b")
    held = ledger.hold("h1", "a", "b", 5)["entry_id"]
    shard, host, port = placement(citus_conn, ledger.tenant)
    dbname = citus_conn.info.dbname
    with psycopg.connect(make_conninfo(citus_conn.info.dsn, host=host, port=port,
                                       dbname=dbname)) as worker:  # fmt: skip
        worker.execute("SELECT lock_shard_metadata(7, ARRAY[%s::bigint])", (shard,))
        done: list[Any] = []
        call = threading.Thread(target=lambda: done.append(ledger.capture(held)))
        call.start()
        waiting: list[Any] = []
        for _ in range(100):
            waiting = worker.execute(
                "SELECT a.backend_xid FROM pg_locks AS l JOIN pg_stat_activity AS a USING (pid)"
                " WHERE NOT l.granted AND l.locktype = 'advisory'"
            ).fetchall()
            if waiting or not call.is_alive():
                break
            time.sleep(0.05)
        with psycopg.connect(citus_conn.info.dsn, autocommit=True) as reader:
            assert Ledger(reader, ledger.tenant).balance("b") == 0  # not blocked
        assert waiting == [(None,)] and call.is_alive() and done == []
        worker.rollback()
        call.join(30)
    assert not call.is_alive() and done and done[0]["status"] == "posted"
    assert ledger.balance("b") == 5


def feed_check(anomaly: dict[str, str]) -> bool:
    return anomaly["check"].startswith("feed")


@needs_engine
def test_a_tenant_isolated_and_moved_under_load_loses_nothing(moved: Report) -> None:
    report = moved
    # A call in flight when the shard group switches can still fail whole (XX000 "could not
    # find valid entry for shard"): rolled back, retried by key like any failed call. Anything
    # else (money lost or doubled, a replay that differs) is an anomaly.
    cut = [a for a in report.anomalies
           if a["check"] == "unexpected_sqlstate" and a["subject"].endswith(" XX000")]  # fmt: skip
    money = [a for a in report.anomalies if a not in cut and not feed_check(a)]
    assert money == []
    assert report.verify == []
    assert report.unresolved == 0
    assert report.ok > 0


@needs_engine
def test_the_change_feed_across_a_move(moved: Report) -> None:
    """The harness's consumer keeps its cursor across the move, as an application would. Read
    on the new node against the old node's snapshots, it would miss and repeat changes; the
    cursor names its server, so the first read after the move is refused with 72000 and the
    consumer starts over from NULL (docs/changes.md): every change it read since is committed
    and came once, and every committed change has come or is a copied one still to come (its
    old xid above the new node's)."""
    assert [a for a in moved.anomalies if feed_check(a)] == []
    assert moved.feed["restarts"] >= 1  # the move was seen, and the consumer started over
    assert moved.feed["seen"] > 0
