"""Release n connections at the same instant and collect what each got.

    outcomes = run_parallel(dsn, 8, lambda conn, i: conn.execute(...).fetchone())
    assert sqlstates(outcomes) == Counter({"ok": 1, "PB003": 7})

Connections are opened (and warmed up) before the barrier, so the calls start together
instead of staggering by connect time. Exceptions are captured per thread, never raised.
The release itself is pgbalance.harness.together, which the incidents and the demo use too.

While the threads run, a probe on a connection of its own samples which of them wait for a
lock (pg_stat_activity + pg_blocking_pids + the ungranted pg_locks row), so a race can prove
it raced: `assert outcomes.waiters` fails when the calls in fact ran one at a time.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import psycopg

from pgbalance.harness.together import Together

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    index: int
    value: T | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def sqlstate(self) -> str | None:
        """The error's SQLSTATE ("ok" when it succeeded, the class name for non-SQL errors)."""
        if self.error is None:
            return "ok"
        if isinstance(self.error, psycopg.Error) and self.error.sqlstate:
            return self.error.sqlstate
        return type(self.error).__name__


@dataclass(frozen=True)
class Wait:
    """One call of the run seen waiting for a lock."""

    waiter: int  # the index of the waiting call
    blockers: frozenset[int]  # the indexes of the calls it waited for (-1: another session)
    locktype: str | None  # of the lock it waited for: tuple, transactionid, advisory, ...
    relation: str | None  # the table of a tuple or relation lock


class Outcomes(list[Outcome[T]]):
    """One Outcome per call, in order, and the lock waits seen while they ran."""

    def __init__(self, outcomes: list[Outcome[T]], waits: set[Wait]) -> None:
        super().__init__(outcomes)
        self.waits = frozenset(waits)

    @property
    def waiters(self) -> set[int]:
        """The indexes of the calls that waited for another call of the run."""
        return {w.waiter for w in self.waits if w.blockers - {-1}}


_PROBE = """
    SELECT a.pid, pg_blocking_pids(a.pid) AS blockers, l.locktype,
           l.relation::regclass::text AS relation
      FROM pg_stat_activity AS a
      LEFT JOIN pg_locks AS l ON l.pid = a.pid AND NOT l.granted
     WHERE a.pid = ANY(%s) AND a.wait_event_type = 'Lock'"""


def _probe(
    conn: psycopg.Connection[Any], pids: list[int], done: threading.Event, seen: set[Wait]
) -> None:
    """Sample the waits of `pids` until `done` (every millisecond or so: a lock queue on one
    row lasts as long as the calls in it, well above that)."""
    index = {pid: i for i, pid in enumerate(pids)}
    while not done.is_set():
        for pid, blockers, locktype, relation in conn.execute(_PROBE, (pids,)):
            by = frozenset(index.get(b, -1) for b in blockers)
            seen.add(Wait(index[pid], by, locktype, relation))
        time.sleep(0.001)


def run_parallel(
    dsn: str,
    n: int,
    fn: Callable[[psycopg.Connection[Any], int], T],
    *,
    timeout: float = 60.0,
    autocommit: bool = True,
    linger: float = 0.0,
) -> Outcomes[T]:
    """Run fn(conn, i) for i in 0..n-1, each in its own thread with its own connection,
    all released together (pgbalance.harness.together); return one Outcome per i, in order,
    with the waits seen.

    linger: run each fn (one call) in a transaction kept open that many seconds after it,
    so that calls on one key surely overlap: a replay of an already committed key takes no
    lock, and the first call may otherwise commit before the others arrive."""

    def call(conn: psycopg.Connection[Any], i: int, _: threading.Barrier) -> T:
        if linger <= 0:
            return fn(conn, i)
        with conn.transaction():
            value = fn(conn, i)
            conn.execute("SELECT pg_sleep(%s)", (linger,))
        return value

    waits: set[Wait] = set()
    with (
        Together[T](dsn, n, autocommit=autocommit, timeout=timeout) as race,
        # Connected before the release, so it samples from the first call on.
        psycopg.connect(dsn, autocommit=True) as watcher,
    ):
        done = threading.Event()
        pids = [conn.info.backend_pid for conn in race.conns]
        probe = threading.Thread(target=_probe, args=(watcher, pids, done, waits), daemon=True)
        probe.start()
        race.start(call)
        results = race.join()
        done.set()
        probe.join(timeout)
    return Outcomes(
        [
            Outcome(i, error=r) if isinstance(r, BaseException) else Outcome(i, value=r)
            for i, r in enumerate(results)
        ],
        waits,
    )


def sqlstates(outcomes: Sequence[Outcome[Any]]) -> Counter[str]:
    """Counter of "ok" / SQLSTATE over the outcomes."""
    return Counter(o.sqlstate or "?" for o in outcomes)


def values(outcomes: Sequence[Outcome[T]]) -> list[T]:
    """The values of the successful outcomes; raises the first error if any failed."""
    out: list[T] = []
    for o in outcomes:
        if o.error is not None:
            raise o.error
        out.append(o.value)  # type: ignore[arg-type]
    return out


def assert_raced(outcomes: Outcomes[Any]) -> None:
    """The calls overlapped: at least one waited for a lock another call of the run held."""
    assert outcomes.waiters, (
        f"no call waited for another ({len(outcomes)} calls, waits seen: "
        f"{sorted(outcomes.waits, key=str)[:5]}): they ran one at a time, the race proves nothing"
    )
