"""A hot tenant moves under load: while the stress harness runs against its tenant, the tenant
gets a shard group of its own (isolate_tenant_to_new_shard) and that group moves to the other
worker (citus_move_shard_placement). Nothing may be lost or doubled, and verify stays clean.

Both with shard_transfer_mode 'block_writes' (writes wait while the shards are copied): the
non-blocking mode's logical replication stops here with "publisher did not send replica
identity column expected by the logical replication target relation ledger.account_<id>"
and retries forever (docs/scaling.md, Limits)."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from rich.console import Console

from pgbalance.harness.stress.report import Report
from pgbalance.harness.stress.runner import StressConfig, run_stress
from tests.citus.conftest import needs_engine

pytestmark = [pytest.mark.slow, pytest.mark.concurrency]


def placement(conn: psycopg.Connection[Any], tenant: str) -> tuple[int, str, int]:
    row = conn.execute(
        "SELECT shardid, nodename, nodeport FROM pg_dist_shard_placement"
        " WHERE shardid = get_shard_id_for_distribution_column('ledger.account', %s::text)",
        (tenant,),
    ).fetchone()
    assert row is not None
    return (int(row[0]), str(row[1]), int(row[2]))


@pytest.mark.xfail(
    strict=True,
    reason="ledger.changes cursors carry the old node's xids and snapshots: after the move the "
    "harness's feed consumer misses and misjudges changes (feed_missing/feed_acknowledged, every "
    "run; docs/scaling.md 'The change feed'); and in about one run in three, writes acknowledged "
    "during isolate/move (entry ids from the old worker's range) are absent afterwards "
    "(exactly_once_transfer, hold_state, balances_match_history), and once in five runs a "
    "non-atomic batch still failed with PB009 (its discard refused): docs/scaling.md, Limits",
)
@needs_engine
def test_a_tenant_isolated_and_moved_under_load(citus_dsn: str, cconnect: Any) -> None:
    # A move that cannot finish (say, no background worker left for its logical replication)
    # waits forever: fail instead.
    citus_conn = cconnect(options="-c statement_timeout=180s")
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
        new = {r[0] for r in citus_conn.execute("SELECT DISTINCT tenant_id FROM ledger.account")}
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
    other = citus_conn.execute(
        "SELECT nodename, nodeport FROM pg_dist_node"
        " WHERE shouldhaveshards AND groupid <> 0 AND (nodename, nodeport) <> (%s, %s)",
        (host, port),
    ).fetchone()
    assert other is not None
    citus_conn.execute(
        "SELECT citus_move_shard_placement(%s, %s, %s, %s, %s, 'block_writes')",
        (shard, host, port, *other),
    )
    assert placement(citus_conn, tenant)[1:] == tuple(other)
    load.join(120)
    if errors:
        raise errors[0]
    assert not load.is_alive() and len(reports) == 1
    report = reports[0]
    assert report.tenant == tenant
    # A call in flight when the shard group switches can fail whole (XX000 "could not find
    # valid entry for shard"): rolled back, retried by key like any failed call. Anything else
    # (money lost or doubled, a replay that differs) is an anomaly.
    cut = [a for a in report.anomalies
           if a["check"] == "unexpected_sqlstate" and a["subject"].endswith(" XX000")]  # fmt: skip
    assert [a for a in report.anomalies if a not in cut] == []
    assert report.verify == []
    assert report.unresolved == 0
    assert report.ok > 0
