"""Plumbing the incident replays share: connections released together, and a scratch schema
for the unprotected ("naive") patterns. No rule lives here: only timing and clean-up."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg

T = TypeVar("T")
Worker = Callable[[psycopg.Connection[Any], int, threading.Barrier], T]


def release_together(
    dsn: str, n: int, fn: Worker[T], *, options: str | None = None, timeout: float = 60.0
) -> list[T | BaseException]:
    """Run fn(conn, i, barrier) for i in 0..n-1, one thread and one autocommit connection
    each, released together once all are connected. fn may wait on the barrier again (a
    second rendezvous); a failing worker aborts the barrier so none waits forever.
    Returns each worker's value or exception, in order."""
    kwargs: dict[str, Any] = {"autocommit": True}
    if options:
        kwargs["options"] = options
    conns = [psycopg.connect(dsn, **kwargs) for _ in range(n)]
    barrier = threading.Barrier(n, timeout=timeout)
    results: list[T | BaseException] = [
        TimeoutError(f"worker {i} did not finish") for i in range(n)
    ]

    def work(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(conns[i], i, barrier)
        except BaseException as exc:  # reported to the caller, never swallowed
            results[i] = exc
            barrier.abort()

    try:
        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout)
    finally:
        for conn in conns:
            if conn.info.transaction_status == psycopg.pq.TransactionStatus.ACTIVE:
                conn.cancel_safe()
            conn.close()
    return results


@contextmanager
def scratch_schema(dsn: str, stem: str) -> Iterator[str]:
    """A fresh schema named naive_<stem>_<random> for an unprotected pattern, dropped after.
    Yields the libpq `options` string that puts it first on the search_path."""
    name = f"naive_{stem}_{secrets.token_hex(4)}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")  # naive scratch schema, never pgbalance's
    try:
        yield f"-c search_path={name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")  # the naive scratch schema


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
