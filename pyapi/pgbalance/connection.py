"""How the clients reach PostgreSQL: one call, one transaction, sent again when its outcome
is unknown. Resending is safe because every pgbalance function is idempotent by key or state.

Each client method is declared once (:func:`api` on a builder returning a :class:`Call`) and
serves both :class:`pgbalance.client.Client` and :class:`pgbalance.aio.AsyncClient`; the
executor the namespace holds decides whether the call is run or awaited.

Two bounds keep a call from hanging (docs/client.md, "Retries"):
- getting a connection waits at most ``connect_timeout`` seconds; a server that cannot be
  reached fails the call then, with libpq's reason, and is never retried (nothing was sent);
- a call whose connection was lost after it was sent is sent again at most ``attempts - 1``
  times, and never once ``retry_window`` seconds have passed since its first loss.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Generic,
    Literal,
    ParamSpec,
    Self,
    TypedDict,
    TypeVar,
    Unpack,
    cast,
    final,
    overload,
)

import psycopg
from psycopg.rows import class_row, scalar_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

from pgbalance.errors import translate

if TYPE_CHECKING:
    from pgbalance.aio import AsyncExecutor

T = TypeVar("T")
R = TypeVar("R")
E = TypeVar("E")
P = ParamSpec("P")
PoolT = TypeVar("PoolT", ConnectionPool, AsyncConnectionPool)

# Lost connection, server shutdown/termination, and the two concurrency failures the
# contract promises never to surface (retried here should a caller's setup provoke them).
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03"})


# -- what a call is -------------------------------------------------------------------------
@dataclass(frozen=True)
class Call(Generic[T]):
    """One SQL function call: its text, its parameters, and the shape of its result."""

    sql: str
    params: tuple[Any, ...]
    cls: type[Any]
    shape: Literal["one", "rows", "scalar"]

    @property
    def row_factory(self) -> Any:
        return scalar_row if self.shape == "scalar" else class_row(self.cls)

    def result(self, rows: list[Any]) -> T:
        if self.shape == "rows":
            return cast(T, rows)
        if len(rows) != 1:
            raise psycopg.DataError(f"expected one row from {self.sql!r}, got {len(rows)}")
        if not isinstance(rows[0], self.cls):
            raise psycopg.DataError(f"expected {self.cls.__name__} from {self.sql!r}")
        return cast(T, rows[0])


def one(sql: str, params: tuple[Any, ...], cls: type[R]) -> Call[R]:
    """A call whose result is exactly one row, as `cls`."""
    return Call(sql, params, cls, "one")


def rows(sql: str, params: tuple[Any, ...], cls: type[R]) -> Call[list[R]]:
    """A call whose result is its rows, each as `cls`."""
    return Call(sql, params, cls, "rows")


def scalar(sql: str, params: tuple[Any, ...], cls: type[R]) -> Call[R]:
    """A call whose result is one value of type `cls`."""
    return Call(sql, params, cls, "scalar")


class Namespace(Generic[E]):
    """Holds the executor its declared calls run on (E: Executor or AsyncExecutor)."""

    def __init__(self, executor: E) -> None:
        self.executor = executor


class api(Generic[P, T]):  # lower case: a decorator, like property
    """Declares a client method once for both clients. The decorated function builds the
    :class:`Call`; on a namespace holding an :class:`Executor` the method returns the result,
    on one holding an ``AsyncExecutor`` it returns a coroutine of it."""

    def __init__(self, build: Callable[Concatenate[Any, P], Call[T]]) -> None:
        self.build = build
        self.name = build.__name__
        self.__doc__ = build.__doc__

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: Namespace[Executor], owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, obj: Namespace[AsyncExecutor], owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, obj: Namespace[Any] | None, owner: type[Any]) -> Any:
        if obj is None:
            return self
        build, run = self.build, obj.executor.run

        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return run(build(obj, *args, **kwargs))

        functools.update_wrapper(method, build)
        method.__wrapped__ = build.__get__(obj, owner)  # type: ignore[attr-defined]
        obj.__dict__[self.name] = method  # bound once per namespace (api has no __set__)
        return method


# -- how often a call is tried ----------------------------------------------------------------
class Options(TypedDict, total=False):
    """Keyword options of both clients and executors (docs/client.md, "Retries")."""

    attempts: int  # tries of a call whose outcome is unknown, the first included (6)
    connect_timeout: float  # seconds a call waits for a connection (5)
    retry_window: float  # no resend later than this many seconds after the first loss (10)


BACKOFF = 0.05  # seconds before the first resend, doubling up to 1 s


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

    def __init__(self, options: Options) -> None:
        self.attempts = options.get("attempts", 6)
        self.window = options.get("retry_window", 10.0)
        self.connect_timeout = options.get("connect_timeout", 5.0)
        self.retries = 0

    def tries(self) -> Tries:
        return Tries(self)

    def pool_options(self) -> dict[str, Any]:
        """Options of the pool a client builds from a conninfo string (sync and async)."""
        return {
            "min_size": 1,
            "max_size": 8,
            "timeout": self.connect_timeout,
            # An unreachable server is tried in the background for as long as a caller
            # waits, not for psycopg_pool's default 5 minutes; the next call tries again.
            "reconnect_timeout": self.connect_timeout,
            # libpq counts whole seconds and takes anything below 2 as 2.
            "kwargs": {
                "autocommit": True,
                "connect_timeout": max(2, math.ceil(self.connect_timeout)),
            },
        }


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
            pause = min(BACKOFF * 2 ** (self.count - 1), 1.0)
            if (
                not _retryable(error)
                or self.count >= self.policy.attempts
                or now + pause - self.first_loss > self.policy.window
            ):
                _raise_translated(error)
            self.policy.retries += 1
            self.pause = pause


# -- where connections come from --------------------------------------------------------------
class Remembering:
    """Mixin of the clients' own pools: libpq's reason for the last failed connection attempt
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
    # The one remembered error is raised to every caller that waited in vain: without its
    # old traceback, which each raise would otherwise extend.
    return reason.with_traceback(None) if reason else timeout


class OwnPool(Remembering, ConnectionPool[psycopg.Connection[Any]]):
    def _connect(self, timeout: float | None = None) -> psycopg.Connection[Any]:
        with self.noting():
            return super()._connect(timeout)


class Pooled(Generic[PoolT]):
    """What both executors share: the pool (the caller's, or one of their own that remembers
    why it could not connect) and the resend policy."""

    def __init__(
        self, target: str | PoolT, pools: tuple[type[PoolT], type[PoolT]], options: Options
    ) -> None:
        given, own = pools
        self.retry = Retry(options)
        self.owns_pool = isinstance(target, str)
        self.pool: PoolT = (
            own(target, check=given.check_connection, open=False, **self.retry.pool_options())
            if isinstance(target, str)
            else target
        )

    @property
    def retries(self) -> int:
        """Resends so far, over all calls (a statistic)."""
        return self.retry.retries


@final
class Executor(Pooled[ConnectionPool]):
    """Runs one SQL function call per transaction on a pooled connection (its own autocommit
    pool when given a conninfo string)."""

    def __init__(self, target: str | ConnectionPool, **options: Unpack[Options]) -> None:
        super().__init__(target, (ConnectionPool, OwnPool), options)
        if self.owns_pool:
            self.pool.open()

    def close(self) -> None:
        if self.owns_pool:
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

    def run(self, call: Call[T]) -> T:
        tries = self.retry.tries()
        for pause in tries:
            time.sleep(pause)
            with self._connection() as conn, tries.attempt():
                with conn.cursor(row_factory=call.row_factory) as cur:
                    cur.execute(call.sql, call.params)
                    found: list[Any] = cur.fetchall()
                if not conn.autocommit:
                    conn.commit()
                return call.result(found)
        raise AssertionError("unreachable: the last try returns or raises")
