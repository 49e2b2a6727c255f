"""`pgbalance bench --history --seal-load` as CI runs it: a tiny run through the CLI that must
finish and report both sides of every round. No ratio is asserted (the machine is shared);
the figures are in docs/performance.md, "History"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgbalance import cli
from tests.helpers.server import server_dsn


@pytest.mark.slow
def test_seal_load_reports_transfers_with_and_without_a_seal_loop(tmp_path: Path) -> None:
    out = tmp_path / "seal-load.json"
    argv = ["bench", "--dsn", server_dsn("postgres"), "--history", "--seal-load",
            "--levels", "20000", "--seal-every", "10000", "--seal-clients", "2",
            "--seal-window", "1.5", "--seal-interval", "0.5", "--seal-rounds", "2",
            "--json", str(out)]  # fmt: skip
    assert cli.main(argv) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["postings"] >= 20000 and doc["clients"] == 2
    assert [r["order"] for r in doc["rounds"]] == ["plain,sealing", "sealing,plain"]
    for r in doc["rounds"]:
        assert r["plain_per_s"] > 0 and r["sealing_per_s"] > 0
        # The loop sealed what came during the window, and its CPU was measured.
        assert r["seals"] >= 1 and r["postings_sealed"] > 0
        assert r["seal_cpu_us_per_posting"] > 0
    assert doc["ratio"] > 0 and len(doc["round_ratios"]) == 2


def test_seal_load_arguments_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "--dsn", server_dsn("postgres"), "--history", "--seal-load",
            "--levels", "20000", "--seal-clients", "0"]  # fmt: skip
    assert cli.main(argv) == 2
    assert "--seal-clients" in capsys.readouterr().err  # refused for that, not another
