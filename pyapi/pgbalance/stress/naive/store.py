"""What the naive scenarios share: the run's scratch schema and the shape of a naive call."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, ClassVar

from pgbalance.stress.model import Call, Conn, Row
from pgbalance.stress.workload.base import Scenario, fetch

THINK_S = 0.002  # the application's work between its check and its write


def think() -> None:
    time.sleep(THINK_S)


def naive_schema(tenant: str) -> str:
    """The scratch schema of a run (a valid unquoted identifier, at most 63 bytes)."""
    return ("naive_" + re.sub(r"[^a-z0-9]+", "_", tenant.lower()))[:63]


class NaiveStore:
    """The scratch schema shared by the naive scenarios of one run, and helpers to write
    the unprotected routines: one transaction (READ COMMITTED, no locks taken), reads,
    then writes of values the client computed."""

    def __init__(self, tenant: str, scenario: str) -> None:
        self.s = naive_schema(tenant)
        self.scenario = scenario

    def create(self, conn: Conn, ddl: str) -> None:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.s}")  # naive scratch schema
        conn.execute(ddl.replace("{s}", self.s))  # naive, unprotected tables

    def drop(self, conn: Conn) -> None:
        conn.execute(f"DROP SCHEMA IF EXISTS {self.s} CASCADE")  # naive scratch schema

    def rows(self, conn: Conn, query: str, params: tuple[Any, ...] = ()) -> list[Row]:
        return fetch(conn, query.replace("{s}", self.s), params)

    def one(self, conn: Conn, query: str, params: tuple[Any, ...] = ()) -> Row | None:
        found = self.rows(conn, query, params)
        return found[0] if found else None

    def write(self, conn: Conn, statement: str, params: tuple[Any, ...] = ()) -> list[Row]:
        """A naive write (every statement passed here targets the naive scratch schema)."""
        return fetch(conn, statement.replace("{s}", self.s), params)  # naive write

    def call(
        self,
        kind: str,
        subject: str,
        args: dict[str, Any],
        allowed: frozenset[str],
        body: Callable[[Conn], list[Row]],
        **extra: Any,
    ) -> Call:
        def routine(conn: Conn) -> list[Row]:
            with conn.transaction():
                return body(conn)

        return Call(self.scenario, kind, subject, args, allowed, routine=routine, **extra)


class NaiveScenario(Scenario):
    """Mixed in before a workload's scenario: the same calls and oracle, over a NaiveStore
    (created by the subclass's setup, dropped on teardown); no SQL function required."""

    requires: ClassVar[tuple[str, ...]] = ()

    def __init__(self, tenant: str, seed: int) -> None:
        super().__init__(tenant, seed)
        self.store = NaiveStore(tenant, self.name)

    def teardown(self, conn: Conn) -> None:
        self.store.drop(conn)
