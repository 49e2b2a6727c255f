"""Release n connections at the same instant and collect what each got.

    outcomes = run_parallel(dsn, 8, lambda conn, i: conn.execute(...).fetchone())
    assert sqlstates(outcomes) == Counter({"ok": 1, "PB003": 7})

Connections are opened (and warmed up) before the barrier, so the calls start together
instead of staggering by connect time. Exceptions are captured per thread, never raised.
The release itself is pgbalance.harness.together, which the incidents and the demo use too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import psycopg

from pgbalance.harness.together import release_together

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
    all released together (pgbalance.harness.together); return one Outcome per i, in order."""
    results = release_together(
        dsn, n, lambda conn, i, _: fn(conn, i), autocommit=autocommit, timeout=timeout
    )
    return [
        Outcome(i, error=r) if isinstance(r, BaseException) else Outcome(i, value=r)
        for i, r in enumerate(results)
    ]


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
