"""Every oracle check goes red: a short clean run of the check's scenario, damaged on purpose
in one way (pgbalance.stress.damage), must report exactly that check and nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console

from pgbalance.stress.damage import DAMAGES
from pgbalance.stress.runner import StressConfig, run_stress
from tests.helpers.server import PREFIX
from tests.helpers.shared_db import cloned_database

pytestmark = [pytest.mark.slow, pytest.mark.concurrency]


@pytest.fixture(scope="module")
def shared_dsn(postgresql_noproc: Any) -> Iterator[str]:
    """One database for the damaged runs (each run is a tenant of its own)."""
    with cloned_database(postgresql_noproc, f"{PREFIX}_damage_{uuid.uuid4().hex[:12]}") as dsn:
        yield dsn


@pytest.mark.parametrize("name", sorted(DAMAGES))
def test_the_damage_trips_exactly_its_check(
    request: pytest.FixtureRequest, shared_dsn: str, name: str
) -> None:
    damage = DAMAGES[name]
    dsn = request.getfixturevalue("dsn") if damage.own_database else shared_dsn
    config = StressConfig(dsn=dsn, migrate=False, progress=False, workers=4, seconds=1.5,
                          seed=11, scenario=damage.scenario, tamper=damage.after,
                          sabotage=damage.during)  # fmt: skip
    report = run_stress(config, Console(quiet=True))
    checks = {a["check"] for a in report.anomalies}
    assert checks == {damage.check}, report.anomalies[:5]
    expected_scenario = "harness" if damage.check == "harness" else damage.scenario
    assert {a["scenario"] for a in report.anomalies} == {expected_scenario}
    assert report.exit_code == 1
