"""How the client reaches PostgreSQL: one call, one transaction, retried when its outcome is
unknown. Retrying is safe because every pgbalance function is idempotent by key or state."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, TypeVar

import psycopg
from psycopg.rows import class_row, scalar_row
from psycopg_pool import ConnectionPool

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


class Executor:
    """Runs one SQL function call per transaction on a pooled autocommit connection."""

    def __init__(
        self, target: str | ConnectionPool, *, attempts: int = 6, backoff: float = 0.05
    ) -> None:
        if isinstance(target, ConnectionPool):
            self.pool = target
            self._owns_pool = False
        else:
            self.pool = ConnectionPool(
                target,
                min_size=1,
                max_size=8,
                kwargs={"autocommit": True},
                check=ConnectionPool.check_connection,
                open=True,
            )
            self._owns_pool = True
        self.attempts = attempts
        self.backoff = backoff
        self.retries = 0

    def close(self) -> None:
        if self._owns_pool:
            self.pool.close()

    def _run(self, sql: str, params: Sequence[Any], row_factory: Any) -> list[Any]:
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                with self.pool.connection() as conn:
                    with conn.cursor(row_factory=row_factory) as cur:
                        cur.execute(sql, params)
                        rows: list[Any] = cur.fetchall()
                    if not conn.autocommit:
                        conn.commit()
                    return rows
            except psycopg.Error as error:
                if _retryable(error) and attempt < self.attempts:
                    self.retries += 1
                    time.sleep(delay)
                    delay = min(delay * 2, 1.0)
                    continue
                translated = translate(error)
                if translated is error:
                    raise
                raise translated from error
        raise AssertionError("unreachable")

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
