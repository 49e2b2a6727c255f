"""Faults injected while the workers run, each from a control thread of its own.

kill       pg_terminate_backend() of a random worker backend (preferably one mid-call),
           every few hundred milliseconds, from a separate control connection.
ambiguous  a short window in which commits cannot finish: synchronous_standby_names names a
           standby that never connects, so every committing worker waits in SyncRep with its
           transaction already committed locally; those backends are then terminated, so the
           client loses the connection without knowing the outcome. The setting is restored
           in a `finally`, always. Server-wide: only on the harness's own throwaway cluster.
crash      an immediate shutdown (no checkpoint) and restart of the server mid-load, so crash
           recovery runs under the workers. Only on the harness's own throwaway cluster.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from pgbalance.db import EmbeddedCluster

FAULT_KINDS = ("kill", "crash", "ambiguous")
SERVER_WIDE = frozenset({"crash", "ambiguous"})
NEVER_STANDBY = "pgbalance_never"
CONTROL_APP = "pgbalance-stress-control"
WORKER_APP = "pgbalance-stress-w"  # application_name prefix of the workers' connections


class FaultRefused(RuntimeError):
    """A fault that may not run against this server."""


@dataclass
class FaultContext:
    dsn: Callable[[], str]  # the current DSN (a restarted cluster keeps its port, normally)
    stop: threading.Event
    worker_pids: Callable[[], list[int]]
    seconds: float
    seed: int
    cluster: EmbeddedCluster | None = None
    # Serialises the server-wide faults: no crash while the standby setting is altered.
    server_lock: threading.Lock = field(default_factory=threading.Lock)
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self.counts[kind] += n

    def problem(self, text: str) -> None:
        with self._lock:
            self.problems.append(text)


class Fault(threading.Thread):
    kind = ""

    def __init__(self, ctx: FaultContext) -> None:
        super().__init__(name=f"fault-{self.kind}", daemon=True)
        self.ctx = ctx
        self.rng = random.Random(f"{ctx.seed}:fault:{self.kind}")
        self._conn: psycopg.Connection[Any] | None = None

    def control(self) -> psycopg.Connection[Any]:
        """The control connection, reopened after a crash."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._close()
            self._conn = psycopg.connect(
                self.ctx.dsn(), autocommit=True, connect_timeout=3, application_name=CONTROL_APP
            )
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def run(self) -> None:
        try:
            self.loop()
        except Exception as exc:  # reported, the run goes on
            self.ctx.problem(f"{self.kind} fault thread failed: {exc!r}")
        finally:
            self._close()

    def loop(self) -> None:
        raise NotImplementedError

    def terminate(self, pids: list[int]) -> int:
        """Terminate those of pids that are still worker backends of this run's database
        (a pid is checked again in the same statement: never anyone else's backend)."""
        rows = (
            self.control()
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE pid = ANY(%s) AND datname = current_database()"
                " AND starts_with(application_name, %s)",
                (pids, WORKER_APP),
            )
            .fetchall()
        )
        return sum(1 for r in rows if r[0])


class KillFault(Fault):
    kind = "kill"

    def loop(self) -> None:
        while not self.ctx.stop.wait(self.rng.uniform(0.1, 0.4)):
            pids = self.ctx.worker_pids()
            if not pids:
                continue
            try:
                active = [
                    int(r[0])
                    for r in self.control().execute(
                        "SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s) AND state = 'active'",
                        (pids,),
                    )
                ]
                target = self.rng.choice(active or pids)
                self.ctx.count(self.kind, self.terminate([target]))
            except psycopg.Error:
                self._close()  # the server may be restarting; try again next round


class AmbiguousFault(Fault):
    kind = "ambiguous"

    def loop(self) -> None:
        if self.ctx.stop.wait(self.rng.uniform(0.2, 0.6)):
            return
        while True:
            with self.ctx.server_lock:
                if self.ctx.stop.is_set():
                    return
                try:
                    self.window()
                except psycopg.Error:
                    self._close()
            if self.ctx.stop.wait(self.rng.uniform(0.5, 1.2)):
                return

    def window(self) -> None:
        conn = self.control()
        try:
            conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{NEVER_STANDBY}'")
            conn.execute("SELECT pg_reload_conf()")
            deadline = time.monotonic() + 1.5
            first_seen: float | None = None
            while time.monotonic() < deadline and not self.ctx.stop.is_set():
                pids = self.ctx.worker_pids()
                waiting = [
                    int(r[0])
                    for r in conn.execute(
                        "SELECT pid FROM pg_stat_activity"
                        " WHERE wait_event = 'SyncRep' AND pid = ANY(%s)",
                        (pids,),
                    )
                ]
                now = time.monotonic()
                if waiting and first_seen is None:
                    first_seen = now
                # Let a few more commits pile up, then cut them all off.
                if waiting and (now - (first_seen or now) > 0.15 or len(waiting) >= 4):
                    self.ctx.count(self.kind, self.terminate(waiting))
                    break
                time.sleep(0.02)
        finally:
            restore_standby_setting(self.ctx.dsn, self.ctx.problem)


def restore_standby_setting(dsn: Callable[[], str], problem: Callable[[str], None]) -> None:
    """RESET synchronous_standby_names and reload, retried on a fresh connection: a server
    left waiting for a standby that never comes would hang every commit."""
    last: Exception | None = None
    for _ in range(40):
        try:
            with psycopg.connect(
                dsn(), autocommit=True, connect_timeout=3, application_name=CONTROL_APP
            ) as conn:
                conn.execute("ALTER SYSTEM RESET synchronous_standby_names")
                conn.execute("SELECT pg_reload_conf()")
                return
        except psycopg.Error as exc:
            last = exc
            time.sleep(0.25)
    problem(f"could not restore synchronous_standby_names: {last!r}")


def clear_leftover_standby_setting(dsn: str) -> bool:
    """At start on the harness's cluster: undo a window an interrupted run left open."""
    with psycopg.connect(dsn, autocommit=True, application_name=CONTROL_APP) as conn:
        row = conn.execute("SHOW synchronous_standby_names").fetchone()
        if row and row[0] == NEVER_STANDBY:
            conn.execute("ALTER SYSTEM RESET synchronous_standby_names")
            conn.execute("SELECT pg_reload_conf()")
            return True
    return False


class CrashFault(Fault):
    kind = "crash"

    def loop(self) -> None:
        cluster = self.ctx.cluster
        if cluster is None:
            raise FaultRefused("crash needs the harness's own cluster")
        n = max(1, min(5, int(self.ctx.seconds // 15)))
        started = time.monotonic()
        for i in range(1, n + 1):
            at = self.ctx.seconds * i / (n + 1) + self.rng.uniform(-0.1, 0.1)
            if self.ctx.stop.wait(max(0.0, at - (time.monotonic() - started))):
                return
            with self.ctx.server_lock:
                if self.ctx.stop.is_set():
                    return
                cluster.crash_restart()
                self.ctx.count(self.kind)


FAULTS: dict[str, type[Fault]] = {
    "kill": KillFault,
    "ambiguous": AmbiguousFault,
    "crash": CrashFault,
}


def parse_faults(text: str | None) -> frozenset[str]:
    """--faults kill,crash,ambiguous -> the set; ValueError on an unknown kind."""
    if not text:
        return frozenset()
    kinds = {part.strip() for part in text.split(",") if part.strip()}
    unknown = kinds - set(FAULT_KINDS)
    if unknown:
        raise ValueError(
            f"unknown fault kind(s): {', '.join(sorted(unknown))} "
            f"(choose from {', '.join(FAULT_KINDS)})"
        )
    return frozenset(kinds)
