"""Deterministic interleavings: each session is one connection driven by its own thread;
a step runs one statement and returns once it has finished or is provably blocked on a
lock (pg_blocking_pids), so a test can replay an incident timeline step by step."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg


@dataclass(frozen=True)
class Outcome:
    status: str  # 'done' | 'blocked' | 'error'
    rows: list[tuple[Any, ...]] | None = None
    sqlstate: str | None = None

    @property
    def value(self) -> Any:
        """The first column of the first row."""
        assert self.status == "done", self
        assert self.rows, self
        return self.rows[0][0]


class Session:
    def __init__(self, scheduler: Scheduler, name: str) -> None:
        self.name = name
        self.scheduler = scheduler
        self.conn = psycopg.connect(scheduler.dsn, autocommit=True)
        self.pid = self.conn.info.backend_pid
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._pending: Future[Outcome] | None = None

    def _execute(self, sql: str, params: Any) -> Outcome:
        try:
            with self.conn.cursor() as cur:
                cur.execute(sql, params)
                rows = cur.fetchall() if cur.description else []
            return Outcome("done", rows=rows)
        except psycopg.Error as error:
            return Outcome("error", sqlstate=error.sqlstate)

    def step(self, sql: str, params: Any = None, timeout: float = 10.0) -> Outcome:
        """Run one statement; return its outcome, or 'blocked' once it waits on a lock."""
        assert self._pending is None, f"{self.name} is still blocked on its previous step"
        future = self._thread.submit(self._execute, sql, params)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return future.result(timeout=0.01)
            except TimeoutError:
                pass
            if self.scheduler.is_blocked(self.pid):
                self._pending = future
                return Outcome("blocked")
        raise TimeoutError(f"{self.name}: step neither finished nor blocked: {sql}")

    def finish(self, timeout: float = 10.0) -> Outcome:
        """Wait for the step that was blocked to complete."""
        assert self._pending is not None, f"{self.name} has no blocked step"
        future, self._pending = self._pending, None
        return future.result(timeout=timeout)

    def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        self._thread.shutdown(wait=False, cancel_futures=True)
        self.conn.close()


class Scheduler:
    """Usage: ``a, b = sched.session("A"), sched.session("B")`` then ``a.step(...)``."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._monitor = psycopg.connect(dsn, autocommit=True)
        self._sessions: list[Session] = []

    def session(self, name: str) -> Session:
        session = Session(self, name)
        self._sessions.append(session)
        return session

    def is_blocked(self, pid: int) -> bool:
        row = self._monitor.execute(
            "SELECT cardinality(pg_blocking_pids(%s)) > 0", (pid,)
        ).fetchone()
        return bool(row and row[0])

    def close(self) -> None:
        for session in self._sessions:
            session.close()
        self._monitor.close()

    def __enter__(self) -> Scheduler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
