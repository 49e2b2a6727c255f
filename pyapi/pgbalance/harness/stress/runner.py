"""The run: set up a fresh tenant, release the workers, inject faults, resolve what is
unknown, then ask the oracle.

Each worker is a thread with its own connection (application_name pgbalance-stress-w<N>)
and its own random generator seeded from --seed, so the mix of requests is reproducible
(the interleaving never is). A call whose connection is lost is indeterminate: the worker
reconnects and sends the very same call again until it gets an answer, as a real client
must; the answer is the op's final outcome. Ops still unanswered when the run ends are
retried once more afterwards, and any left unresolved are anomalies.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from pgbalance.db import EmbeddedCluster, conninfo_params, with_dbname
from pgbalance.harness.stress import oracle
from pgbalance.harness.stress.consumer import FeedConsumer
from pgbalance.harness.stress.faults import (
    FAULTS,
    SERVER_WIDE,
    WORKER_APP,
    FaultContext,
    Replica,
    clear_leftover_standby_setting,
)
from pgbalance.harness.stress.model import Call, Conn, History, Op, Rejected, is_connection_loss
from pgbalance.harness.stress.report import Report, build_report
from pgbalance.harness.stress.workload import SCENARIO_NAMES, Scenario, resolve_scenarios


class StressError(RuntimeError):
    """The run cannot start as asked; the message says why and what to do."""


@dataclass
class StressConfig:
    dsn: str
    workers: int = 16
    seconds: float = 30.0
    seed: int | None = None
    scenario: str = "mixed"
    faults: frozenset[str] = frozenset()
    naive: bool = False
    # The throwaway cluster the harness started (required by the crash and ambiguous faults).
    cluster: EmbeddedCluster | None = None
    migrate: bool = True
    progress: bool = True
    # How long after the end of the load an indeterminate call may take to resolve.
    resolve_timeout: float = 60.0
    # Runs between the load and the oracle with (connection, tenant, ops): tests damage the
    # database or the recorded history on purpose there, to see the oracle go red.
    tamper: Callable[[Conn, str, list[Op]], None] | None = None
    # Runs after the setup with the scenarios about to run: tests break the harness there.
    sabotage: Callable[[list[Scenario]], None] | None = None


@dataclass
class RunContext:
    dsn: Callable[[], str]
    history: History
    scenarios: list[Scenario]
    seed: int
    stop: threading.Event = field(default_factory=threading.Event)
    pids: dict[int, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    resolve_until: float = float("inf")
    lock: threading.Lock = field(default_factory=threading.Lock)

    def worker_pids(self) -> list[int]:
        with self.lock:
            return list(self.pids.values())

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


def refusal(faults: frozenset[str], target: str) -> str:
    kinds = ", ".join(sorted(faults & SERVER_WIDE))
    return (
        f"--faults {kinds} alters or restarts the whole server, so it only runs on the "
        f"throwaway cluster the harness starts itself, never on {target}. Run without --dsn "
        "(and without DATABASE_URL): the harness then starts its own cluster (under .pgdata/, "
        "or $PGBALANCE_PGDATA)."
    )


class Worker(threading.Thread):
    def __init__(self, wid: int, ctx: RunContext) -> None:
        super().__init__(name=f"stress-w{wid}", daemon=True)
        self.wid = wid
        self.ctx = ctx
        self.conn: Conn | None = None
        self.weights = [s.weight for s in ctx.scenarios]

    def run(self) -> None:
        rng = random.Random(f"{self.ctx.seed}:{self.wid}")
        try:
            while not self.ctx.stop.is_set():
                scenario = rng.choices(self.ctx.scenarios, self.weights)[0]
                call = scenario.next_call(rng, self.wid)
                if call is None:
                    continue
                op = perform(self.ctx, call, self.wid, self)
                if op is None:
                    continue
                self.ctx.history.record(op)
                scenario.observe(op)
        except Exception as exc:  # an anomaly of the harness itself, reported
            self.ctx.problem(f"worker {self.wid} died: {exc!r}")
        finally:
            self.drop()

    def connection(self, sent: bool) -> Conn | None:
        """The worker's connection, reconnecting while the server is away. None when it
        gave up: before sending, once the run is over; after, once resolving timed out."""
        delay = 0.05
        while self.conn is None or self.conn.closed or self.conn.broken:
            self.drop()
            try:
                self.conn = psycopg.connect(
                    self.ctx.dsn(),
                    autocommit=True,
                    connect_timeout=3,
                    application_name=f"{WORKER_APP}{self.wid}",
                )
                with self.ctx.lock:
                    self.ctx.pids[self.wid] = self.conn.info.backend_pid
            except psycopg.Error:
                over = time.monotonic() > self.ctx.resolve_until if sent else self.ctx.stop.is_set()
                if over:
                    return None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        return self.conn

    def drop(self) -> None:
        with self.ctx.lock:
            self.ctx.pids.pop(self.wid, None)
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None


def perform(
    ctx: RunContext, call: Call, wid: int, worker: Worker, resend: bool = False
) -> Op | None:
    """Send a call until its outcome is known. None: it was never sent (the run ended).
    resend: the call was sent before (resolving), so keep trying until resolve_until."""
    op = Op(id=ctx.history.next_id(), worker=wid, call=call)
    delay = 0.05
    while True:
        conn = worker.connection(sent=resend or op.attempts > 0)
        if conn is None:
            if op.attempts == 0:
                return None
            op.outcome = "unresolved"
            return op
        op.attempts += 1
        started = time.monotonic()
        try:
            op.rows = call.execute(conn)
            outcome = "ok"
        except Rejected as exc:
            outcome, op.sqlstate = "rejected", exc.sqlstate
        except psycopg.Error as exc:
            if is_connection_loss(exc, conn):
                worker.drop()
                op.lost.append(f"{exc.sqlstate or type(exc).__name__}: {str(exc)[:120]}")
                op.first = op.first or "indeterminate"
                if time.monotonic() > ctx.resolve_until:
                    op.outcome = "unresolved"
                    return op
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
                continue
            outcome, op.sqlstate = "rejected", exc.sqlstate or type(exc).__name__
            op.detail = exc.diag.message_detail
        if not op.first:
            op.first = outcome
            op.latency = time.monotonic() - started
        op.outcome = outcome
        return op


def resolve_leftovers(ctx: RunContext, ops: list[Op], timeout: float) -> None:
    """Retry, on a fresh connection, every op that was still unresolved at the end."""
    pending = [op for op in ops if op.outcome == "unresolved"]
    if not pending:
        return
    ctx.resolve_until = time.monotonic() + timeout
    resolver = Worker(-1, ctx)
    try:
        for op in pending:
            again = perform(ctx, op.call, -1, resolver, resend=True)
            if again is not None and again.outcome != "unresolved":
                op.outcome, op.sqlstate, op.rows = again.outcome, again.sqlstate, again.rows
                op.attempts += again.attempts
                op.lost += again.lost
    finally:
        resolver.drop()


def run_stress(config: StressConfig, console: Console | None = None) -> Report:
    console = console or Console()
    if config.scenario not in SCENARIO_NAMES:
        raise StressError(f"unknown scenario {config.scenario!r} (one of {SCENARIO_NAMES})")
    if config.workers < 1 or config.seconds <= 0:
        raise StressError("--workers must be >= 1 and --seconds > 0")
    cluster = config.cluster
    if config.faults & SERVER_WIDE and cluster is None:
        raise StressError(refusal(config.faults, _where(config.dsn)))
    seed = config.seed if config.seed is not None else secrets.randbelow(1_000_000)
    dbname = conninfo_params(config.dsn).get("dbname", "postgres")

    # --faults failover: the workers, the faults and the oracle reach whichever of primary
    # and standby is writable, as an application configured for failover would.
    replica = Replica(cluster) if "failover" in config.faults and cluster is not None else None

    def current_dsn() -> str:
        if replica is not None:
            return replica.conninfo(dbname)
        return with_dbname(cluster.dsn, dbname) if cluster is not None else config.dsn

    if cluster is not None and clear_leftover_standby_setting(config.dsn):
        console.print("[yellow]reset synchronous_standby_names left by an interrupted run[/]")
    if config.migrate:
        from pgbalance.migrate import migrate

        migrate(config.dsn)

    tenant = f"stress-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    with psycopg.connect(config.dsn, autocommit=True) as conn:
        scenarios, missing = resolve_scenarios(conn, config.scenario, config.naive, tenant, seed)
        if missing:  # never a silently smaller run: a dropped function stops it
            raise StressError(
                f"scenario {config.scenario!r} cannot run here: " + "; ".join(missing)
            )
        for s in scenarios:
            s.setup(conn)
    if config.sabotage is not None:
        config.sabotage(scenarios)

    history = History()
    ctx = RunContext(current_dsn, history, scenarios, seed)
    fctx = FaultContext(
        current_dsn, ctx.stop, ctx.worker_pids, config.seconds, seed, cluster, replica
    )
    if replica is not None:
        replica.prepare()
        console.print(f"synchronous standby on port {replica.standby.port}")
    workers = [Worker(i, ctx) for i in range(config.workers)]
    # The change feed read beside the load (not for --naive: no kernel behind it).
    feed = None if config.naive else FeedConsumer(current_dsn, tenant, threading.Event())
    faults = [FAULTS[kind](fctx) for kind in sorted(config.faults)]
    label = ("naive " if config.naive else "") + "+".join(s.name for s in scenarios)
    console.print(
        f"[bold]pgbalance stress[/bold] {label}: {config.workers} workers x {config.seconds:g}s,"
        f" seed {seed}, faults {','.join(sorted(config.faults)) or 'none'}, tenant {tenant}"
    )

    started = time.monotonic()
    end = started + config.seconds
    try:
        for w in workers:
            w.start()
        if feed is not None:
            feed.start()
        for f in faults:
            f.start()
        _progress(console, config, ctx, fctx, started, end)
    finally:
        ctx.resolve_until = time.monotonic() + config.resolve_timeout
        ctx.stop.set()
        for f in faults:
            f.join()
        for w in workers:
            w.join(config.resolve_timeout + 30)
        if replica is not None:
            replica.finish(fctx.problem)
    elapsed = time.monotonic() - started
    if replica is not None and replica.took is not None:
        console.print(f"failover: a new primary {replica.took:.1f}s after the primary stopped")

    ops = history.snapshot()
    leftovers = sum(1 for op in ops if op.outcome == "unresolved")
    if leftovers:
        console.print(f"resolving {leftovers} calls still unanswered at the end")
    resolve_leftovers(ctx, ops, config.resolve_timeout)
    if feed is not None:
        feed.finish(config.resolve_timeout)
        restarts = f", {len(feed.restarts)} restarts from NULL" if feed.restarts else ""
        console.print(f"feed: {len(feed.seen)} changes read in {feed.reads} reads{restarts}")
    for w in workers:
        if w.is_alive():
            ctx.problem(f"{w.name} still running {config.resolve_timeout + 30:.0f}s after the end")
    console.print(f"oracle: checking {len(ops)} calls against the database ...")
    checked = time.monotonic()
    with psycopg.connect(current_dsn(), autocommit=True) as conn:
        try:
            if config.tamper is not None:
                config.tamper(conn, tenant, ops)
            anomalies, verify_rows = oracle.check(
                conn, tenant, scenarios, ops, ctx.problems + fctx.problems, naive=config.naive
            )
            if feed is not None:
                anomalies += feed.check(conn, ops)
        finally:
            for s in scenarios:
                with contextlib.suppress(psycopg.Error):
                    s.teardown(conn)
    console.print(f"oracle: done in {time.monotonic() - checked:.1f}s")
    return build_report(
        ops=ops,
        anomalies=anomalies,
        verify=verify_rows,
        faults=dict(fctx.counts),
        scenario=config.scenario,
        scenarios=[s.name for s in scenarios],
        naive=config.naive,
        workers=config.workers,
        seconds=elapsed,
        seed=seed,
        tenant=tenant,
        faults_requested=sorted(config.faults),
        feed=None if feed is None else {"seen": len(feed.seen), "reads": feed.reads,
                                        "restarts": len(feed.restarts),
                                        "internal_errors": feed.internal_errors},  # fmt: skip
    )


def _where(dsn: str) -> str:
    params = conninfo_params(dsn)
    return f"{params.get('host', 'localhost')}:{params.get('port', '5432')}"


def _progress(
    console: Console,
    config: StressConfig,
    ctx: RunContext,
    fctx: FaultContext,
    started: float,
    end: float,
) -> None:
    def stats() -> str:
        with ctx.history.lock:
            c: Any = ctx.history.counts
            text = (
                f"ops {c['ops']}  ok {c['ok']}  rejected {c['rejected']}"
                f"  indeterminate {c['indeterminate']}"
            )
        if fctx.counts:
            text += "  faults " + " ".join(f"{k}={v}" for k, v in sorted(fctx.counts.items()))
        return text

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[stats]}"),
        console=console,
        disable=not config.progress,
    ) as progress:
        task = progress.add_task("load", total=config.seconds, stats="")
        while (now := time.monotonic()) < end:
            progress.update(task, completed=now - started, stats=stats())
            time.sleep(min(0.1, max(end - now, 0.0)))
        progress.update(task, completed=config.seconds, stats=stats())
