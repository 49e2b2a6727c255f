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
            "--space-transfers", "400", "--high-clients", "3", "--json", str(out)]  # fmt: skip
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
    assert names == ["tpcb", "uniform", "hot", "batch", "uniform_hi", "hot_hi", "tpcb_1",
                     "uniform_1"]  # fmt: skip
    for scenario in result["scenarios"]:
        assert scenario["transfers_per_s"] > 0, scenario
        assert scenario["failed"] == 0, scenario
        assert scenario["p50_ms"] > 0 and scenario["p99_ms"] >= scenario["p50_ms"]
    assert {t["name"] for t in result["targets"]} == set(TARGETS)
    # no --peer given: only the peer ratio is left without a value
    assert [t["name"] for t in result["targets"] if t["value"] is None] == ["uniform_vs_peer"]
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


PEER = Path(__file__).resolve().parents[2].parent / "shared" / "peers" / "pgledger"


@pytest.mark.slow
def test_bench_measures_a_peer_when_given_one(tmp_path: Path) -> None:
    """--peer pgledger=DIR: the peer runs in a scratch database of its own, on the same shape,
    and its ratio comes out; never vendored, skipped when the checkout is absent."""
    if not (PEER / "pgledger.sql").is_file():
        pytest.skip(f"no pgledger checkout at {PEER}")
    out = tmp_path / "bench.json"
    argv = ["bench", "--dsn", server_dsn("postgres"), "--clients", "2", "--seconds", "1",
            "--rounds", "1", "--space-transfers", "0", "--high-clients", "2",
            "--peer", f"pgledger={PEER}", "--json", str(out)]  # fmt: skip
    assert cli.main(argv) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    peer = {s["name"]: s for s in result["scenarios"] if s["name"].startswith("peer")}
    assert set(peer) == {"peer", "peer_1"} and all(s["failed"] == 0 for s in peer.values())
    assert result["peer"] == "pgledger" and result["ratios"]["uniform_vs_peer"] > 0

