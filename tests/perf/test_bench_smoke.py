"""`pgbalance bench` as CI runs it: a tiny run that must finish and report numbers. No timing
is asserted (the machine is shared); the full run and its figures are in docs/performance.md."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest

from pgbalance import cli
from pgbalance.harness.bench import TARGETS
from tests.helpers.server import server_dsn


@pytest.mark.slow
def test_bench_runs_and_reports_every_scenario(tmp_path: Path) -> None:
    installed = list(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))
    if shutil.which("pgbench") is None and not installed:
        pytest.fail("pgbench is needed by `pgbalance bench`: apt-get install postgresql-client")
    admin = server_dsn("postgres")
    out = tmp_path / "bench.json"
    argv = ["bench", "--dsn", admin, "--clients", "2", "--seconds", "1", "--rounds", "1",
            "--space-transfers", "400", "--json", str(out)]  # fmt: skip
    plot = tmp_path / "bench.png"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        plot = None  # type: ignore[assignment]
    if plot is not None:
        argv += ["--plot", str(plot)]
    assert cli.main(argv) == 0  # 0: ledger.verify clean after the run

    result = json.loads(out.read_text(encoding="utf-8"))
    names = [s["name"] for s in result["scenarios"]]
    assert names == ["tpcb", "uniform", "hot", "batch"]
    for scenario in result["scenarios"]:
        assert scenario["transfers_per_s"] > 0, scenario
        assert scenario["failed"] == 0, scenario
        assert scenario["p50_ms"] > 0 and scenario["p99_ms"] >= scenario["p50_ms"]
    assert {t["name"] for t in result["targets"]} == set(TARGETS)
    assert all(t["value"] is not None for t in result["targets"])
    assert result["space"]["transfers"] >= 400
    assert result["verify_violations"] == 0
    assert result["machine"]["nproc"] >= 1 and result["machine"]["postgres"]["server_version"]
    if plot is not None:
        assert plot.stat().st_size > 1000
    # the scratch database is gone
    with psycopg.connect(admin, autocommit=True) as conn:
        left = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s",
                            (result["database"],)).fetchone()  # fmt: skip
    assert result["database"].startswith("bench_") and left == (0,)
