"""The incidents table of `pgbalance run`: one row per incident and variant, and the exit
decision: only pgbalance rows count, and one anomaly (or error) under pgbalance fails it."""

from __future__ import annotations

import io

from rich.console import Console

from pgbalance.harness.incidents import INCIDENTS
from pgbalance.harness.incidents.base import Incident, IncidentResult
from pgbalance.harness.incidents.report import run_incidents


class Fake:
    def __init__(self, name: str, protected_effects: int = 1, crash: bool = False) -> None:
        self.name = name
        self.protected_effects = protected_effects
        self.crash = crash

    def _result(self, variant: str, effects: int) -> IncidentResult:
        return IncidentResult(
            incident=self.name, variant=variant, attempts=20, effects_applied=effects,
            expected_effects=1, money_wrongly_moved=(effects - 1) * 100, verify_clean=True,
        )  # fmt: skip

    def run_unprotected(self, dsn: str, workers: int) -> IncidentResult:
        return self._result("unprotected", 20)

    def run_protected(self, dsn: str, workers: int) -> IncidentResult:
        if self.crash:
            raise RuntimeError("boom")
        return self._result("pgbalance", self.protected_effects)


def _run(*incidents: Incident) -> tuple[bool, str]:
    out = io.StringIO()
    ok = run_incidents("unused", 20, Console(file=out, width=120), list(incidents))
    return ok, out.getvalue()


def test_unprotected_damage_alone_passes_and_is_shown() -> None:
    ok, text = _run(Fake("alpha incident"), Fake("beta incident"))
    assert ok
    assert text.count("unprotected") >= 2 and text.count("pgbalance") >= 2
    assert "alpha incident" in text and "1900" in text  # the money the naive pattern moved


def test_one_anomaly_under_pgbalance_fails_the_run() -> None:
    ok, text = _run(Fake("alpha incident"), Fake("beta incident", protected_effects=2))
    assert not ok
    assert "FAIL" in text and "beta incident" in text


def test_an_error_under_pgbalance_fails_the_run() -> None:
    ok, text = _run(Fake("alpha incident", crash=True))
    assert not ok
    assert "boom" in text


def test_every_registered_incident_has_a_distinct_name() -> None:
    names = [i.name for i in INCIDENTS]
    assert len(names) == len(set(names)) >= 2
    assert {"wallet: app and trigger both deduct", "booking: duplicate webhooks"} <= set(names)
