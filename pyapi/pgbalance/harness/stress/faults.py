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
failover   the harness's cluster gets a synchronous streaming standby before the load
           (pg_basebackup); mid-load the primary is stopped immediately and the standby
           promoted, and the workers reconnect through a two-host conninfo with
           target_session_attrs=read-write. Afterwards the promoted standby becomes the
           harness's cluster (its directory and port). Alone or with kill only.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from pgbalance.db import DEFAULT_EMBEDDED_PORT, EmbeddedCluster, with_dbname

FAULT_KINDS = ("kill", "crash", "ambiguous", "failover")
SERVER_WIDE = frozenset({"crash", "ambiguous", "failover"})
# crash would restart the old primary beside the promoted standby (two read-write servers),
# and ambiguous resets the synchronous standby setting the failover relies on.
NOT_WITH_FAILOVER = frozenset({"crash", "ambiguous"})
NEVER_STANDBY = "pgbalance_never"
STANDBY_NAME = "pgbalance_standby"  # the failover standby's application_name
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
    replica: Replica | None = None  # --faults failover
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

    def server_wide(self, delay: float, action: Callable[[], None]) -> bool:
        """After delay seconds, run action under the server lock and count it; False when
        the run ended first."""
        if self.ctx.stop.wait(max(0.0, delay)):
            return False
        with self.ctx.server_lock:
            if self.ctx.stop.is_set():
                return False
            action()
            self.ctx.count(self.kind)
        return True

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
        if row and row[0] in (NEVER_STANDBY, STANDBY_NAME):
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
            if not self.server_wide(at - (time.monotonic() - started), cluster.crash_restart):
                return


class FailoverFault(Fault):
    kind = "failover"

    def loop(self) -> None:
        if self.ctx.replica is None:
            raise FaultRefused("failover needs the harness's cluster and its standby")
        # Once, mid-run: enough load before to have commits in flight, and after to go on.
        at = self.ctx.seconds * self.rng.uniform(0.4, 0.6)
        self.server_wide(at, self.ctx.replica.fail_over)


class Standby(EmbeddedCluster):
    """A streaming standby of the harness's cluster, in <its root>/standby."""

    def __init__(self, primary: EmbeddedCluster) -> None:
        # Next to the primary's port rather than the default one other clusters start on
        # (the start falls back to any free port).
        port = (primary.port or DEFAULT_EMBEDDED_PORT) + 1
        super().__init__(root=primary.root / "standby", port=port, bindir=primary.bindir)

    def clone(self, primary_dsn: str) -> None:
        """pg_basebackup of the running primary (after a fast checkpoint), written as a
        standby (standby.signal, primary_conninfo naming STANDBY_NAME)."""
        source = make_conninfo(primary_dsn, application_name=STANDBY_NAME)
        with self._locked():
            self._pg("pg_basebackup", "-D", str(self.datadir), "-d", source,
                     "-X", "stream", "-R", "-c", "fast")  # fmt: skip

    def promote(self) -> None:
        self._pg("pg_ctl", "promote", "-w", "-t", "60", "-D", str(self.datadir))

    def discard(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class Replica:
    """--faults failover: the harness's cluster as the primary of a synchronous streaming
    standby, so every acknowledged commit is on the standby too. fail_over() stops the
    primary immediately and promotes the standby; finish() makes the promoted standby the
    harness's cluster again (its data directory and port), or removes an unused standby."""

    def __init__(self, primary: EmbeddedCluster) -> None:
        self.primary = primary
        self.standby = Standby(primary)
        self.promoted = False
        self.took: float | None = None  # seconds from the primary's stop to a new primary

    def prepare(self) -> None:
        self.standby.discard()  # a leftover of an interrupted run
        try:
            self.standby.clone(self.primary.dsn)
            self.standby.start()
            with psycopg.connect(
                self.primary.dsn, autocommit=True, application_name=CONTROL_APP
            ) as conn:
                conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{STANDBY_NAME}'")
                conn.execute("SELECT pg_reload_conf()")
                deadline = time.monotonic() + 60
                while conn.execute(
                    "SELECT 1 FROM pg_stat_replication WHERE application_name = %s"
                    " AND sync_state = 'sync'",
                    (STANDBY_NAME,),
                ).fetchone() is None:  # fmt: skip
                    if time.monotonic() > deadline:
                        raise RuntimeError("the failover standby did not become synchronous")
                    time.sleep(0.05)
        except BaseException:
            self.finish(lambda text: None)
            raise

    def conninfo(self, dbname: str) -> str:
        """Both servers, the writable one wins: what the workers (re)connect with."""
        ports = f"{self.primary.port},{self.standby.port}"
        return make_conninfo(
            with_dbname(self.primary.dsn, dbname),
            host="127.0.0.1,127.0.0.1",
            port=ports,
            target_session_attrs="read-write",
        )

    def fail_over(self) -> None:
        started = time.monotonic()
        self.primary.stop("immediate")
        self.standby.promote()
        self.promoted = True
        self.took = time.monotonic() - started

    def finish(self, problem: Callable[[str], None]) -> None:
        if not self.promoted:
            if self.primary.is_running():
                restore_standby_setting(lambda: self.primary.dsn, problem)
            self.standby.discard()
            return
        self.primary.stop("immediate")  # never two primaries
        self.standby.stop("fast")
        shutil.rmtree(self.primary.datadir)
        self.standby.datadir.rename(self.primary.datadir)
        self.standby.discard()
        self.promoted = False
        self.primary.start()
        with psycopg.connect(self.primary.dsn, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM RESET primary_conninfo")  # the standby's, now idle
            conn.execute("SELECT pg_reload_conf()")


FAULTS: dict[str, type[Fault]] = {
    "kill": KillFault,
    "ambiguous": AmbiguousFault,
    "crash": CrashFault,
    "failover": FailoverFault,
}


def parse_faults(text: str | None) -> frozenset[str]:
    """--faults kill,crash,ambiguous,failover -> the set; ValueError on an unknown kind or
    on failover with crash or ambiguous."""
    if not text:
        return frozenset()
    kinds = {part.strip() for part in text.split(",") if part.strip()}
    unknown = kinds - set(FAULT_KINDS)
    if unknown:
        raise ValueError(
            f"unknown fault kind(s): {', '.join(sorted(unknown))} "
            f"(choose from {', '.join(FAULT_KINDS)})"
        )
    if "failover" in kinds and kinds & NOT_WITH_FAILOVER:
        raise ValueError("failover runs alone or with kill, not with crash or ambiguous")
    return frozenset(kinds)
