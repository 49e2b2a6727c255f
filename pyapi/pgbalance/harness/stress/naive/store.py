"""What the naive scenarios share: the run's scratch schema, the workflow's unprotected SQL
(pgbalance/harness/naive/<workflow>.sql) and the shape of a naive call."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import psycopg

from pgbalance.harness import naive
from pgbalance.harness.stress.model import Call, Conn, Rejected, Row
from pgbalance.harness.stress.workload.base import Scenario, fetch

THINK_S = 0.002  # the application's work between its check and its write


def think() -> None:
    time.sleep(THINK_S)


def refuse_if_different(row: Row, **expected: Any) -> None:
    """What a key already holds must be the call's values (idempotency conflict: PB003)."""
    if any(row[column] != value for column, value in expected.items()):
        raise Rejected("PB003")


def naive_schema(tenant: str) -> str:
    """The scratch schema of a run (a valid unquoted identifier, at most 63 bytes)."""
    return ("naive_" + re.sub(r"[^a-z0-9]+", "_", tenant.lower()))[:63]


class NaiveStore:
    """The scratch schema shared by the naive scenarios of one run, and the one way to run
    the workflow's naive blocks: every routine is one transaction (READ COMMITTED, no locks
    taken) that reads, then writes values the client computed."""

    def __init__(self, tenant: str, scenario: str) -> None:
        self.s = naive_schema(tenant)
        self.scenario = scenario
        self.sql = naive.blocks(scenario)  # a scenario is named after its workflow

    @contextmanager
    def _on_path(self, conn: Conn) -> Iterator[None]:
        """One transaction with the scratch schema first on its search_path (the blocks name
        their tables unqualified, as in the incidents)."""
        with conn.transaction():
            conn.execute("SELECT set_config('search_path', %s, true)", (self.s,))
            yield

    def create(self, conn: Conn) -> None:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.s}")  # naive scratch schema
        with self._on_path(conn):
            naive.install(conn, self.sql)

    def drop(self, conn: Conn) -> None:
        conn.execute(f"DROP SCHEMA IF EXISTS {self.s} CASCADE")  # naive scratch schema

    def rows(self, conn: Conn, block: str, **params: Any) -> list[Row]:
        """The rows of a naive block (inside a routine, in its transaction)."""
        if conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
            return fetch(conn, self.sql[block], params)  # a routine's: already on the path
        with self._on_path(conn):
            return fetch(conn, self.sql[block], params)

    def one(self, conn: Conn, block: str, **params: Any) -> Row | None:
        found = self.rows(conn, block, **params)
        return found[0] if found else None

    def seen(self, conn: Conn, block: str, key: dict[str, Any], **expected: Any) -> Row | None:
        """Idempotency by "look first": the row `block` finds for `key` (None: absent); it
        must hold `expected` (PB003 otherwise)."""
        row = self.one(conn, block, **key)
        if row is not None:
            refuse_if_different(row, **expected)
        return row

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
            with self._on_path(conn):
                return body(conn)

        return Call(self.scenario, kind, subject, args, allowed, routine=routine, **extra)


class NaiveScenario(Scenario):
    """Mixed in before a workload's scenario: the same calls and oracle, over a NaiveStore
    (created before the workload's setup, dropped on teardown); no SQL function required.
    A scenario whose setup writes the kernel's tables itself overrides setup, creating the
    store first."""

    requires: ClassVar[tuple[str, ...]] = ()

    def __init__(self, tenant: str, seed: int) -> None:
        super().__init__(tenant, seed)
        self.store = NaiveStore(tenant, self.name)

    def setup(self, conn: Conn) -> None:
        self.store.create(conn)
        # The workload's setup, next in the MRO (NaiveBooking(NaiveScenario, BookingScenario)).
        super().setup(conn)  # type: ignore[safe-super]

    def teardown(self, conn: Conn) -> None:
        self.store.drop(conn)
