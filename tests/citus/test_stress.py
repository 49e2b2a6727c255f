"""The stress harness against the coordinator, briefly, with kill faults: backends on the
coordinator terminated mid-call (their delegated calls on the workers abort with them); the
oracle must find nothing lost or doubled and verify clean."""

from __future__ import annotations

import pytest
from rich.console import Console

from pgbalance.harness.stress.runner import StressConfig, run_stress
from tests.citus.conftest import needs_engine

pytestmark = [pytest.mark.slow, pytest.mark.concurrency]


@needs_engine
def test_kill_faults_against_the_coordinator_are_clean(citus_dsn: str) -> None:
    config = StressConfig(dsn=citus_dsn, workers=4, seconds=5.0, seed=11, migrate=False,
                          progress=False, faults=frozenset({"kill"}))  # fmt: skip
    report = run_stress(config, Console(quiet=True))
    assert report.anomalies == []
    assert report.verify == []
    assert report.faults["kill"] > 0
    assert report.unresolved == 0
    assert report.ok > 0
