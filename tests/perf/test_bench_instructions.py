"""`pgbalance bench --instructions` as CI runs it: the fewest calls that still difference out
the base run, in its own throwaway cluster. Instruction counts do not depend on load, but no
figure is asserted beyond what makes the method sound (every count positive, a batch cheaper
per transfer than a transfer alone); the figures are in docs/performance.md."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pgbalance import cli
from pgbalance.harness.bench_instructions import BASE_CALLS, KINDS


@pytest.mark.slow
def test_instructions_per_call_of_every_kind(tmp_path: Path) -> None:
    if shutil.which("valgrind") is None:
        pytest.fail("`pgbalance bench --instructions` needs valgrind: apt-get install valgrind")
    out = tmp_path / "instructions.json"
    keep = tmp_path / "callgrind"
    argv = ["bench", "--instructions", "--calls", str(BASE_CALLS + 2), "--keep", str(keep),
            "--json", str(out)]  # fmt: skip
    assert cli.main(argv) == 0

    counts = {c["kind"]: c for c in json.loads(out.read_text(encoding="utf-8"))}
    assert list(counts) == list(KINDS)
    for count in counts.values():
        assert count["per_call"] > 0 and count["per_transfer"] > 0, count
    assert counts["batch"]["per_transfer"] < counts["uniform"]["per_transfer"]
    assert len(list(keep.glob("callgrind.*.out"))) == 2 * len(KINDS)


def test_too_few_calls_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bench", "--instructions", "--calls", str(BASE_CALLS)]) == 2
    assert "--calls must be more than" in capsys.readouterr().err
