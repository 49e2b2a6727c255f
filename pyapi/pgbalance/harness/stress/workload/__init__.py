"""Scenarios: a workload over a few hot keys and the oracle for it, one module each."""

from __future__ import annotations

from pgbalance.harness.stress.model import Conn
from pgbalance.harness.stress.workload.base import Scenario
from pgbalance.harness.stress.workload.booking import BookingScenario
from pgbalance.harness.stress.workload.fees import Fees
from pgbalance.harness.stress.workload.transfers import Transfers
from pgbalance.harness.stress.workload.tuition import Tuition
from pgbalance.harness.stress.workload.wallet import Wallet

SCENARIO_NAMES = ("mixed", "transfers", "wallet", "booking", "fees", "tuition")

SCENARIOS: dict[str, type[Scenario]] = {
    "transfers": Transfers,
    "wallet": Wallet,
    "booking": BookingScenario,
    "fees": Fees,
    "tuition": Tuition,
}


def _naive() -> dict[str, type[Scenario]]:
    from pgbalance.harness.stress import naive

    return naive.NAIVE_SCENARIOS


def resolve_scenarios(
    conn: Conn, name: str, naive: bool, tenant: str, seed: int
) -> tuple[list[Scenario], list[str]]:
    """The scenarios to run for --scenario NAME, and notes on those that cannot run here
    (the runner refuses to start while there is any)."""
    registry = _naive() if naive else SCENARIOS
    names = list(SCENARIO_NAMES[1:]) if name == "mixed" else [name]
    chosen: list[Scenario] = []
    missing: list[str] = []
    for n in names:
        cls = registry.get(n)
        if cls is None:
            missing.append(f"{n}: no {'naive ' if naive else ''}workload for it yet")
            continue
        absent = cls.missing(conn)
        if absent:
            missing.append(f"{n}: not deployed here ({', '.join(absent)} missing)")
            continue
        chosen.append(cls(tenant, seed))
    return chosen, missing


__all__ = ["SCENARIOS", "SCENARIO_NAMES", "Scenario", "resolve_scenarios"]
