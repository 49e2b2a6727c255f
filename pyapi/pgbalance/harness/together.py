"""Release n connections together: the one way the harness and the tests start a race.

    results = release_together(dsn, 8, lambda conn, i, barrier: conn.execute(...).fetchone())

Every connection is opened and warmed up before the release, so the calls start at the same
instant instead of staggering by connect time. A worker may meet its peers again on the
barrier it is given (a rendezvous, e.g. between an unprotected check and its write); a
failing worker aborts that barrier so none waits forever. Each worker's value or exception
comes back in order, never raised here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar

import psycopg

T = TypeVar("T")
Worker = Callable[[psycopg.Connection[Any], int, threading.Barrier], T]


class Together(Generic[T]):
    """n connections (opened by the constructor), then n threads released together by
    start(); join() collects. Closing cancels a call still running, so close never hangs.

    For a caller that watches the race while it runs (a live table, a lock probe on the
    connections' backend pids); release_together is the plain call."""

    def __init__(
        self,
        dsn: str,
        n: int,
        *,
        options: str | None = None,
        autocommit: bool = True,
        timeout: float = 60.0,
    ) -> None:
        kwargs: dict[str, Any] = {"autocommit": autocommit}
        if options:
            kwargs["options"] = options
        self.timeout = timeout
        self.conns: list[psycopg.Connection[Any]] = []
        try:
            for _ in range(n):
                conn = psycopg.connect(dsn, **kwargs)
                self.conns.append(conn)
                conn.execute("SELECT 1")  # warm: the first call pays no start-up cost
                if not autocommit:
                    conn.rollback()
        except BaseException:
            self.close()
            raise
        # The release, and the barrier a worker may meet its peers at again: apart, so that
        # a failing worker can abort the second without breaking peers still leaving the first.
        self.release = threading.Barrier(n, timeout=timeout)
        self.barrier = threading.Barrier(n, timeout=timeout)
        self.results: list[T | BaseException] = [
            TimeoutError(f"worker {i} did not finish") for i in range(n)
        ]
        self.threads: list[threading.Thread] = []

    def start(self, fn: Worker[T]) -> None:
        def work(i: int) -> None:
            try:
                self.release.wait()
                self.results[i] = fn(self.conns[i], i, self.barrier)
            except BaseException as exc:  # reported to the caller, never swallowed
                self.results[i] = exc
                self.barrier.abort()

        self.threads = [
            threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(self.conns))
        ]
        for t in self.threads:
            t.start()

    def alive(self) -> bool:
        return any(t.is_alive() for t in self.threads)

    def join(self) -> list[T | BaseException]:
        """Each worker's value or exception, in order (TimeoutError for one still running)."""
        for t in self.threads:
            t.join(self.timeout)
        return list(self.results)

    def close(self) -> None:
        for conn in self.conns:
            if conn.info.transaction_status == psycopg.pq.TransactionStatus.ACTIVE:
                conn.cancel_safe()
            conn.close()

    def __enter__(self) -> Together[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def release_together(
    dsn: str,
    n: int,
    fn: Worker[T],
    *,
    options: str | None = None,
    autocommit: bool = True,
    timeout: float = 60.0,
) -> list[T | BaseException]:
    """Run fn(conn, i, barrier) for i in 0..n-1, one thread and one connection each,
    released together once all are connected; each worker's value or exception, in order."""
    with Together[T](dsn, n, options=options, autocommit=autocommit, timeout=timeout) as race:
        race.start(fn)
        return race.join()
