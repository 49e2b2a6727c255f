"""The shape every incident replay shares, so `pgbalance run` and `pgbalance stress --naive`
can put the unprotected pattern and pgbalance side by side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class IncidentResult:
    incident: str  # e.g. "booking: duplicate balance webhooks"
    variant: str  # "unprotected" | "pgbalance"
    attempts: int  # calls fired, all released together
    effects_applied: int  # how many took effect (payments applied, deductions made, ...)
    expected_effects: int  # how many should have taken effect
    money_wrongly_moved: int  # minor units paid, deducted or refunded beyond the rules
    verify_clean: bool  # ledger.verify() returned no rows (always true for unprotected)

    @property
    def anomalies(self) -> int:
        return (
            abs(self.effects_applied - self.expected_effects)
            + (1 if self.money_wrongly_moved else 0)
            + (0 if self.verify_clean else 1)
        )


class Incident(Protocol):
    name: str

    def run_unprotected(self, dsn: str, workers: int) -> IncidentResult:
        """The incident's original pattern (check-then-update in the client, two authorities)
        in a scratch schema of its own, under `workers` connections released together."""
        ...

    def run_protected(self, dsn: str, workers: int) -> IncidentResult:
        """The same load against pgbalance's SQL functions in a fresh tenant."""
        ...
