"""What the harness records: the calls it makes, what each one came to, and anomalies.

A Call is one request as a client would send it (one SQL function call of the contract, or
for --naive one unprotected client routine). An Op is a Call that was made: its first
attempt ended ok, rejected (with a SQLSTATE) or indeterminate (the connection was lost before
the outcome was known); an indeterminate Op is retried with the same key until its final
outcome is ok or rejected (or, if the server never came back, unresolved).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

from pgbalance.errors import NEVER_SURFACES

# Connection lost or server going away: the outcome of the call in flight is unknown.
LOST_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
# The contract promises these never surface; seeing one is an anomaly on its own.
NEVER_SQLSTATES = frozenset(NEVER_SURFACES)

Row = dict[str, Any]
Conn = psycopg.Connection[Any]


class Rejected(Exception):
    """A rejection decided by client code (the --naive patterns check in the client)."""

    def __init__(self, sqlstate: str, message: str = "") -> None:
        super().__init__(f"{sqlstate} {message}".strip())
        self.sqlstate = sqlstate


def is_connection_loss(error: BaseException, conn: Conn | None = None) -> bool:
    """True when the error means "we don't know what happened to the call"."""
    if not isinstance(error, psycopg.Error):
        return False
    state = error.sqlstate
    if state is None:
        return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError) or bool(
            conn is not None and conn.broken
        )
    return state in LOST_SQLSTATES or state.startswith("08")


@dataclass(frozen=True)
class Call:
    """One request. `subject` is what the oracle groups calls by (a key, a reference, an
    object); `args` are its money-relevant parameters; `allowed` the SQLSTATEs that are
    legitimate rejections of it (anything else is an anomaly)."""

    scenario: str
    kind: str
    subject: str
    args: Mapping[str, Any]
    allowed: frozenset[str]
    sql: str = ""
    params: tuple[Any, ...] = ()
    # Client-side routine instead of one SQL call (the --naive patterns).
    routine: Callable[[Conn], list[Row]] | None = None
    # False when the result has no `replayed` column (tuition.create_assessment returns only
    # the id): the oracle then compares results instead of counting first applications.
    reports_replay: bool = True

    def execute(self, conn: Conn) -> list[Row]:
        if self.routine is not None:
            return self.routine(conn)
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(self.sql, self.params)
            return cur.fetchall() if cur.description else []

    def same_args(self, other: Call | Mapping[str, Any]) -> bool:
        theirs = other.args if isinstance(other, Call) else other
        return dict(self.args) == dict(theirs)


@dataclass
class Op:
    """A call that was made, and what it came to."""

    id: int
    worker: int
    call: Call
    first: str = ""  # ok | rejected | indeterminate
    outcome: str = ""  # ok | rejected | unresolved
    sqlstate: str | None = None
    rows: list[Row] = field(default_factory=list)
    attempts: int = 0
    latency: float | None = None  # seconds, of a first attempt that got an answer
    lost: list[str] = field(default_factory=list)  # why attempts were indeterminate
    detail: str | None = None  # the DETAIL of a rejection (numbers, idx=<n> of a batch item)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def row(self) -> Row:
        return self.rows[0] if self.rows else {}

    @property
    def replayed(self) -> bool:
        return bool(self.row.get("replayed"))

    @property
    def was_indeterminate(self) -> bool:
        return self.first == "indeterminate"

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.call.args.items())
        end = self.sqlstate if self.outcome == "rejected" else self.outcome
        return f"op#{self.id} w{self.worker} {self.call.kind}({args}) -> {end}"


@dataclass(frozen=True)
class Anomaly:
    check: str
    subject: str
    detail: str
    # The scenario whose oracle or calls it came from; "tenant" for the checks over the whole
    # tenant (ledger.verify, conservation), "harness" for the harness itself. Set by the
    # oracle (oracle.check), so the scenarios' own rules need not repeat it.
    scenario: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "scenario": self.scenario,
            "check": self.check,
            "subject": self.subject,
            "detail": self.detail,
        }


class History:
    """Every op of the run, appended by the workers; counters for the live progress."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ops: list[Op] = []
        self._next_id = 0
        self.counts: Counter[str] = Counter()
        self.retries = 0

    def next_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    def record(self, op: Op) -> None:
        with self.lock:
            self.ops.append(op)
            self.counts["ops"] += 1
            self.counts[op.outcome] += 1
            if op.was_indeterminate:
                self.counts["indeterminate"] += 1
            self.retries += max(op.attempts - 1, 0)

    def snapshot(self) -> list[Op]:
        with self.lock:
            return list(self.ops)

    def of(self, scenario: str) -> list[Op]:
        return [op for op in self.snapshot() if op.call.scenario == scenario]
