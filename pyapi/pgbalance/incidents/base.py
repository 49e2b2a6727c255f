"""The shape every incident replay shares, so `pgbalance run` can put the unprotected pattern
and pgbalance side by side, and the two helpers their runs use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import psycopg


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


def scalar(conn: psycopg.Connection[Any], sql: str, params: Any = None) -> Any:
    """The first column of the first row (None when there is no row)."""
    row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def raise_unexpected(outcomes: list[Any]) -> None:
    """Re-raise the first worker exception: no variant expects an error beyond the refusals
    its workers handle (every call acts, is replayed, is kept or is refused in the worker)."""
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
