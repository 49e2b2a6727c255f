"""Release n connections at the same instant and collect what each got.

    outcomes = run_parallel(dsn, 8, lambda conn, i: conn.execute(...).fetchone())
    assert sqlstates(outcomes) == Counter({"ok": 1, "PB003": 7})

Connections are opened (and warmed up) before the barrier, so the calls start together
instead of staggering by connect time. Exceptions are captured per thread, never raised.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import psycopg

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


def run_parallel(
    dsn: str,
    n: int,
    fn: Callable[[psycopg.Connection[Any], int], T],
    *,
    timeout: float = 60.0,
    autocommit: bool = True,
) -> list[Outcome[T]]:
    """Run fn(conn, i) for i in 0..n-1, each in its own thread with its own connection,
    all released together; return one Outcome per i, in order."""
    conns = [psycopg.connect(dsn, autocommit=autocommit) for _ in range(n)]
    try:
        for conn in conns:
            conn.execute("SELECT 1")
            if not autocommit:
                conn.rollback()
        barrier = threading.Barrier(n)
        results: list[Outcome[T] | None] = [None] * n

        def work(i: int) -> None:
            try:
                barrier.wait(timeout=timeout)
                results[i] = Outcome(i, value=fn(conns[i], i))
            except BaseException as exc:  # captured for the test to assert on
                results[i] = Outcome(i, error=exc)

        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout)
        return [
            r if r is not None else Outcome(i, error=TimeoutError(f"thread {i} still running"))
            for i, r in enumerate(results)
        ]
    finally:
        for conn in conns:
            # A thread still stuck in a query is cancelled so close() does not hang.
            if conn.info.transaction_status == psycopg.pq.TransactionStatus.ACTIVE:
                conn.cancel_safe()
            conn.close()


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
