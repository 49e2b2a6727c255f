"""The shape every incident replay shares, so `pgbalance run` can put the unprotected pattern
and pgbalance side by side: IncidentResult, the Incident protocol, and Replay, the two runs
every incident makes (each incident fills in its own pattern, load and reading)."""

from __future__ import annotations

import secrets
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import psycopg

from pgbalance.harness import naive
from pgbalance.harness.together import release_together

Conn = psycopg.Connection[Any]


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


def scalar(conn: Conn, sql: str, params: Any = None) -> Any:
    """The first column of the first row (None when there is no row)."""
    row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def raise_unexpected(outcomes: list[Any]) -> None:
    """Re-raise the first worker exception: no variant expects an error beyond the refusals
    its workers handle (every call acts, is replayed, is kept or is refused in the worker)."""
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


class Replay(ABC):
    """An incident's two runs. Unprotected: the workflow's naive blocks (the `DDL` blocks,
    seeded with params(workers, 0)); each worker runs the `CHECK` block, waits for the others
    (the application's own work between its check and its writes), then, if the check
    passed, the `WRITES` blocks, each its own autocommit statement. pgbalance: the same load
    through the SQL functions, in a fresh tenant; ledger.verify must stay clean."""

    name: str
    workflow: ClassVar[str]  # its naive SQL file and the stem of its schema and tenant
    DDL: ClassVar[tuple[str, ...]] = ("schema",)
    CHECK: ClassVar[str] = "check"
    WRITES: ClassVar[tuple[str, ...]]

    def expected_effects(self, workers: int) -> int:
        return 1

    @abstractmethod
    def params(self, workers: int, i: int) -> Mapping[str, Any]:
        """The naive blocks' parameters for worker i."""

    @abstractmethod
    def naive_outcome(self, conn: Conn, workers: int) -> tuple[int, int]:
        """(effects applied, money wrongly moved) read from the naive tables."""

    @abstractmethod
    def prepare(self, conn: Conn, tenant: str, workers: int) -> None:
        """The tenant's state before the load (through the SQL functions)."""

    @abstractmethod
    def call(self, conn: Conn, tenant: str, i: int) -> bool:
        """Worker i's call; True when it took effect, False when refused or replayed."""

    @abstractmethod
    def outcome(self, conn: Conn, tenant: str, workers: int, took: list[bool]) -> tuple[int, int]:
        """(effects applied, money wrongly moved) under pgbalance; took: each call's result."""

    def run_unprotected(self, dsn: str, workers: int) -> IncidentResult:
        sql = naive.blocks(self.workflow)
        seed = self.params(workers, 0)
        with naive.installed(dsn, self.workflow, sql, seed, self.DDL) as naive_dsn:

            def worker(conn: Conn, i: int, barrier: threading.Barrier) -> bool:
                p = self.params(workers, i)
                ok = bool(scalar(conn, sql[self.CHECK], p))
                barrier.wait()  # the application's own work between its check and its writes
                if ok:
                    try:
                        for block in self.WRITES:
                            conn.execute(sql[block], p)  # naive: decided before, no transaction
                    except psycopg.errors.CheckViolation:
                        pass  # refused midway: what committed before stays
                return ok

            outcomes = release_together(naive_dsn, workers, worker)
            raise_unexpected(outcomes)
            with psycopg.connect(naive_dsn, autocommit=True) as conn:
                effects, wrong = self.naive_outcome(conn, workers)
        return IncidentResult(self.name, "unprotected", workers, effects,
                              self.expected_effects(workers), wrong, verify_clean=True)  # fmt: skip

    def run_protected(self, dsn: str, workers: int) -> IncidentResult:
        tenant = f"incident-{self.workflow}-{secrets.token_hex(4)}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            self.prepare(conn, tenant, workers)
        outcomes = release_together(dsn, workers, lambda conn, i, _: self.call(conn, tenant, i))
        raise_unexpected(outcomes)
        took = [o is True for o in outcomes]
        with psycopg.connect(dsn, autocommit=True) as conn:
            effects, wrong = self.outcome(conn, tenant, workers, took)
            violations = conn.execute("SELECT * FROM ledger.verify(%s)", (tenant,)).fetchall()
        return IncidentResult(self.name, "pgbalance", workers, effects,
                              self.expected_effects(workers), wrong, not violations)  # fmt: skip
