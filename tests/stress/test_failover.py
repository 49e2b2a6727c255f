"""`pgbalance stress --faults failover`, briefly: a synchronous standby of the module's own
cluster is promoted mid-run after an immediate stop of the primary; every acknowledged call
is on the new primary exactly once (the oracle), and the new primary carries on as the
cluster."""

from __future__ import annotations

import psycopg
import pytest
from rich.console import Console

from pgbalance import db as pgdb
from pgbalance.cli import main
from pgbalance.harness.stress.faults import parse_faults
from pgbalance.harness.stress.runner import StressConfig, run_stress

pytestmark = [pytest.mark.slow, pytest.mark.concurrency, pytest.mark.embedded]


def timeline(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT timeline_id FROM pg_control_checkpoint()").fetchone()
        assert row is not None
        value: int = row[0]
        return value


def test_failover_is_clean(own_cluster: pgdb.EmbeddedCluster, own_dsn: str) -> None:
    before = timeline(own_dsn)
    config = StressConfig(
        dsn=own_dsn, workers=8, seconds=8.0, seed=11, faults=frozenset({"failover", "kill"}),
        cluster=own_cluster, migrate=False, progress=False,
    )  # fmt: skip
    report = run_stress(config, Console(quiet=True))
    assert report.anomalies == [] and report.verify == []
    assert report.faults["failover"] == 1
    assert report.ok > 0 and report.unresolved == 0
    # The promoted standby is the cluster now: same port, a new timeline, no standby left.
    assert own_cluster.is_running()
    with psycopg.connect(own_dsn) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
        assert conn.execute("SHOW synchronous_standby_names").fetchone() == ("",)
        assert conn.execute("SELECT count(*) FROM pg_stat_replication").fetchone() == (0,)
    assert timeline(own_dsn) > before
    assert not (own_cluster.root / "standby").exists()


def test_failover_refuses_a_given_server_and_faults_that_break_it(dsn: str) -> None:
    assert main(["stress", "--dsn", dsn, "--faults", "failover", "--seconds", "1"]) == 2
    for other in ("crash", "ambiguous"):
        with pytest.raises(ValueError, match="failover"):
            parse_faults(f"failover,{other}")
    assert parse_faults("failover,kill") == {"failover", "kill"}
