"""How the client reaches PostgreSQL: one call, one transaction, sent again when its outcome
is unknown. Resending is safe because every pgbalance function is idempotent by key or state.

Two bounds keep a call from hanging (docs/client.md, "Retries"):
- getting a connection waits at most ``connect_timeout`` seconds; a server that cannot be
  reached fails the call then, with libpq's reason, and is never retried (nothing was sent);
- a call whose connection was lost after it was sent is sent again at most ``attempts - 1``
  times, and never once ``retry_window`` seconds have passed since its first loss.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg.rows import class_row, scalar_row
from psycopg_pool import ConnectionPool, PoolTimeout

from pgbalance.errors import translate

T = TypeVar("T")

# Lost connection, server shutdown/termination, and the two concurrency failures the
# contract promises never to surface (retried here should a caller's setup provoke them).
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03"})


def _retryable(error: psycopg.Error) -> bool:
    state = error.sqlstate
    if state is None:
        return isinstance(error, psycopg.OperationalError)
    return state in RETRYABLE_SQLSTATES or state.startswith("08")


def _raise_translated(error: psycopg.Error) -> None:
    translated = translate(error)
    if translated is error:
        raise error
    raise translated from error


class Retry:
    """The resend policy of one executor, and its count of resends (a statistic)."""

    def __init__(self, attempts: int, backoff: float, window: float) -> None:
        self.attempts = attempts
        self.backoff = backoff
        self.window = window
        self.retries = 0

    def tries(self) -> Tries:
        return Tries(self)


class Tries:
    """The tries of one call, shared by the sync and async executors::

        for pause in tries:        # 0 first, then the backoff before each resend
            sleep(pause)
            with connection() as conn, tries.attempt():
                return execute(conn)

    ``attempt()`` swallows an error that leaves the outcome unknown while attempts and the
    window last (the loop then sends again); any other error leaves it translated.
    """

    def __init__(self, policy: Retry) -> None:
        self.policy = policy
        self.count = 0
        self.first_loss: float | None = None
        self.pause: float | None = 0.0

    def __iter__(self) -> Iterator[float]:
        while self.pause is not None:
            pause, self.pause = self.pause, None
            yield pause

    @contextmanager
    def attempt(self) -> Iterator[None]:
        self.count += 1
        try:
            yield
        except psycopg.Error as error:
            now = time.monotonic()
            self.first_loss = self.first_loss or now
            pause = min(self.policy.backoff * 2 ** (self.count - 1), 1.0)
            if (
                not _retryable(error)
                or self.count >= self.policy.attempts
                or now + pause - self.first_loss > self.policy.window
            ):
                _raise_translated(error)
            self.policy.retries += 1
            self.pause = pause


class Remembering:
    """Mixin of the client's own pools: libpq's reason for the last failed connection attempt
    (None once one succeeds), so a caller that timed out waiting for a connection is told
    why instead of getting a bare pool timeout."""

    last_error: psycopg.OperationalError | None = None

    @contextmanager
    def noting(self) -> Iterator[None]:
        try:
            yield
        except psycopg.OperationalError as error:
            self.last_error = error
            raise
        self.last_error = None


def unreachable(pool: object, timeout: PoolTimeout) -> psycopg.OperationalError:
    """What to raise when no connection came in time: libpq's reason when the pool is ours
    and its last attempt failed, else the timeout itself (a busy pool)."""
    reason = pool.last_error if isinstance(pool, Remembering) else None
    return reason or timeout


def pool_options(connect_timeout: float) -> dict[str, Any]:
    """Options of the pool a client builds from a conninfo string (sync and async alike)."""
    return {
        "min_size": 1,
        "max_size": 8,
        "timeout": connect_timeout,
        # An unreachable server is tried in the background for as long as a caller waits,
        # not for psycopg_pool's default 5 minutes; the next call starts trying again.
        "reconnect_timeout": connect_timeout,
        # libpq counts whole seconds and takes anything below 2 as 2.
        "kwargs": {"autocommit": True, "connect_timeout": max(2, math.ceil(connect_timeout))},
    }


class OwnPool(Remembering, ConnectionPool[psycopg.Connection[Any]]):
    def _connect(self, timeout: float | None = None) -> psycopg.Connection[Any]:
        with self.noting():
            return super()._connect(timeout)


class Executor:
    """Runs one SQL function call per transaction on a pooled autocommit connection."""

    def __init__(
        self,
        target: str | ConnectionPool,
        *,
        attempts: int = 6,
        backoff: float = 0.05,
        connect_timeout: float = 5.0,
        retry_window: float = 10.0,
    ) -> None:
        if isinstance(target, ConnectionPool):
            self.pool: ConnectionPool = target
            self._owns_pool = False
        else:
            self.pool = OwnPool(
                target,
                check=ConnectionPool.check_connection,
                open=True,
                **pool_options(connect_timeout),
            )
            self._owns_pool = True
        self.retry = Retry(attempts, backoff, retry_window)

    @property
    def retries(self) -> int:
        return self.retry.retries

    def close(self) -> None:
        if self._owns_pool:
            self.pool.close()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            conn = self.pool.getconn()
        except PoolTimeout as timeout:
            raise unreachable(self.pool, timeout) from timeout
        try:
            yield conn
        finally:
            self.pool.putconn(conn)

    def _run(self, sql: str, params: Sequence[Any], row_factory: Any) -> list[Any]:
        tries = self.retry.tries()
        for pause in tries:
            time.sleep(pause)
            with self._connection() as conn, tries.attempt():
                with conn.cursor(row_factory=row_factory) as cur:
                    cur.execute(sql, params)
                    rows: list[Any] = cur.fetchall()
                if not conn.autocommit:
                    conn.commit()
                return rows
        raise AssertionError("unreachable: the last try returns or raises")

    def rows(self, sql: str, params: Sequence[Any], cls: type[T]) -> list[T]:
        return self._run(sql, params, class_row(cls))

    def one(self, sql: str, params: Sequence[Any], cls: type[T]) -> T:
        rows = self.rows(sql, params, cls)
        if len(rows) != 1:
            raise psycopg.DataError(f"expected one row from {sql!r}, got {len(rows)}")
        return rows[0]

    def scalar(self, sql: str, params: Sequence[Any], cls: type[T]) -> T:
        rows = self._run(sql, params, scalar_row)
        value = rows[0]
        if not isinstance(value, cls):
            raise psycopg.DataError(f"expected {cls.__name__} from {sql!r}, got {value!r}")
        return value
