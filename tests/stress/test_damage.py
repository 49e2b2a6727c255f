"""Every oracle check goes red: one short clean run per scenario, then each damage of that
scenario (pgbalance.harness.stress.damage) applied alone, in a transaction rolled back
afterwards, to a copy of the run's history: the oracle must report exactly the damage's
check. The harness check gets a run of its own, with a worker that dies."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from rich.console import Console

from pgbalance.harness.stress import oracle
from pgbalance.harness.stress.damage import DAMAGES
from pgbalance.harness.stress.model import Op
from pgbalance.harness.stress.runner import StressConfig, run_stress
from pgbalance.harness.stress.workload import Scenario
from tests.helpers.server import PREFIX
from tests.helpers.shared_db import cloned_database

pytestmark = [pytest.mark.slow, pytest.mark.concurrency]


@dataclass
class Run:
    tenant: str
    scenarios: list[Scenario]
    ops: list[Op]


def config(dsn: str, scenario: str, **hooks: Any) -> StressConfig:
    return StressConfig(dsn=dsn, migrate=False, progress=False, workers=4, seconds=2.0,
                        seed=11, scenario=scenario, **hooks)  # fmt: skip


@pytest.fixture(scope="module")
def shared_dsn(postgresql_noproc: Any) -> Iterator[str]:
    """One database for the runs (each run is a tenant of its own)."""
    with cloned_database(postgresql_noproc, f"{PREFIX}_damage_{uuid.uuid4().hex[:12]}") as dsn:
        yield dsn


@pytest.fixture(scope="module")
def clean_run(shared_dsn: str) -> Callable[[str], Run]:
    """The clean run of a scenario (made once): its tenant, scenario objects and history."""
    runs: dict[str, Run] = {}

    def get(scenario: str) -> Run:
        if scenario not in runs:
            seen: dict[str, Any] = {}
            report = run_stress(
                config(
                    shared_dsn, scenario,
                    sabotage=lambda s: seen.update(scenarios=list(s)),
                    tamper=lambda conn, tenant, ops: seen.update(ops=copy.deepcopy(ops)),
                ),
                Console(quiet=True),
            )  # fmt: skip
            assert report.anomalies == []  # undamaged, the oracle is green
            runs[scenario] = Run(report.tenant, seen["scenarios"], seen["ops"])
        return runs[scenario]

    return get


@pytest.mark.parametrize("name", sorted(n for n, d in DAMAGES.items() if d.after))
def test_the_damage_trips_exactly_its_check(
    shared_dsn: str, clean_run: Callable[[str], Run], name: str
) -> None:
    damage = DAMAGES[name]
    assert damage.after is not None
    run = clean_run(damage.scenario)
    ops = copy.deepcopy(run.ops)
    with (
        psycopg.connect(shared_dsn, autocommit=True) as conn,
        conn.transaction(force_rollback=True),
    ):
        damage.after(conn, run.tenant, ops)
        anomalies, _ = oracle.check(conn, run.tenant, run.scenarios, ops, [])
    assert {a.check for a in anomalies} == {damage.check}, anomalies[:5]
    assert {a.scenario for a in anomalies} == {damage.scenario}


def test_a_worker_that_dies_trips_the_harness_check(shared_dsn: str) -> None:
    damage = DAMAGES["harness"]
    report = run_stress(
        config(shared_dsn, damage.scenario, sabotage=damage.during), Console(quiet=True)
    )
    assert [(a["scenario"], a["check"]) for a in report.anomalies] == [("harness", "harness")]
    assert "died" in report.anomalies[0]["detail"]
    assert report.exit_code == 1
