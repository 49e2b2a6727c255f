"""`pgbalance bench`: transfers against PostgreSQL's own banking benchmark, same server, same run.

pgbench's built-in TPC-B-like script (3 updates, 1 insert, 1 select per transaction) is the
yardstick. In one scratch database (`bench_<hex>`, dropped afterwards) the bench runs, with
pgbench, prepared statements (`-M prepared`, as drivers run hot calls) and interleaved rounds
(A B C D A B C D ...) so that machine drift hits every scenario alike:

- ``tpcb``: ``pgbench -b tpcb-like`` (scale = clients);
- ``uniform``: ``ledger.transfer`` between two random accounts out of 10,000 (floor 0);
- ``hot``: ``ledger.transfer`` from a random account into one revenue account with no floor
  and no ceiling, striped (``ledger.set_account_stripes``), as platform revenue;
- ``batch``: ``ledger.transfer_batch`` with 100 uniform transfers per call;
- ``peer``: a peer ledger's transfer between two random accounts out of 10,000, when one is
  given (``--peer pgledger=DIR``: installed from DIR into a scratch database of its own);
- ``uniform_hi`` / ``hot_hi``: uniform and hot with many clients (``--high-clients``, 32);
- ``tpcb_1`` / ``uniform_1`` (/ ``peer_1``): one client, for latency.

Ratios are taken per round (neighbours in time) and their median is reported. Before the
rounds, 100,000 uniform transfers measure the bytes of ledger tables and indexes each
transfer adds. At the end ``ledger.verify`` must be clean. Everything here drives SQL through
pgbench scripts; no rule of the ledger lives in this file.
"""

from __future__ import annotations

import math
import os
import platform
import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TENANT = "bench"
ACCOUNTS = 10_000
FUNDING = 10**12  # per account: no transfer of the bench ever runs out
BATCH_SIZE = 100
STRIPES = 16
SPACE_TRANSFERS = 100_000

# Targets (issue 10): name -> (what, threshold, higher is better)
TARGETS: dict[str, tuple[str, float, bool]] = {
    "uniform_vs_tpcb": ("uniform transfers/s / TPC-B transactions/s", 1.0, True),
    "uniform_vs_peer": ("uniform transfers/s / peer transfers/s (with --peer)", 2.5, True),
    "hot_vs_uniform": ("hot-account transfers/s / uniform transfers/s", 0.9, True),
    "hot_vs_uniform_hi": ("the same with --high-clients clients", 0.9, True),
    "batch_vs_uniform": ("batch transfers/s / uniform transfers/s", 10.0, True),
    "p50_uniform_vs_tpcb_1": ("1-client p50 latency: transfer / TPC-B", 1.0, False),
    "bytes_per_transfer": ("bytes of ledger tables + indexes per transfer", 485.0, False),
}
# ratio name -> (numerator scenario, denominator scenario), taken per round on transfers/s
RATIOS: dict[str, tuple[str, str]] = {
    "uniform_vs_tpcb": ("uniform", "tpcb"),
    "uniform_vs_peer": ("uniform", "peer"),
    "hot_vs_uniform": ("hot", "uniform"),
    "hot_vs_uniform_hi": ("hot_hi", "uniform_hi"),
    "batch_vs_uniform": ("batch", "uniform"),
}


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    transfers_per_call: int
    script: str | None  # None: pgbench's built-in tpcb-like
    clients: int  # 0: the run's --clients
    peer: bool = False  # runs in the peer's database


@dataclass(frozen=True)
class Peer:
    """A third-party ledger measured beside the kernel (never part of pgbalance)."""

    name: str
    directory: Path


_PICK = (f"\\set a random(1, {ACCOUNTS})\n\\set b random(1, {ACCOUNTS - 1})\n"
         f"\\set c (:a + :b - 1) % {ACCOUNTS} + 1\n")  # fmt: skip


def scenarios(high_clients: int = 32, peer: Peer | None = None) -> list[Scenario]:
    uniform = (f"SELECT entry_id FROM ledger.transfer('{TENANT}', gen_random_uuid()::text,"
               " 'acct' || :a, 'acct' || :c, 1 + :b % 100);\n")  # fmt: skip
    hot = (f"SELECT entry_id FROM ledger.transfer('{TENANT}', gen_random_uuid()::text,"
           " 'acct' || :a, 'revenue', 1 + :b % 100);\n")  # fmt: skip
    batch_items = (
        "SELECT jsonb_agg(jsonb_build_object('key', gen_random_uuid()::text,"
        f" 'from', 'acct' || x.a, 'to', 'acct' || ((x.a + x.b - 1) % {ACCOUNTS} + 1),"
        " 'amount', 1 + x.b % 100))"
        f" FROM (SELECT 1 + floor(random() * {ACCOUNTS})::int AS a,"
        f" 1 + floor(random() * {ACCOUNTS - 1})::int AS b"
        f" FROM generate_series(1, {BATCH_SIZE})) AS x"
    )
    out = [
        Scenario("tpcb", "pgbench TPC-B-like", 1, None, 0),
        Scenario("uniform", "transfer, uniform", 1, _PICK + uniform, 0),
        Scenario("hot", "transfer into hot revenue", 1, _PICK + hot, 0),
        Scenario("batch", f"transfer_batch x{BATCH_SIZE}", BATCH_SIZE, (
            f"SELECT count(*) FROM ledger.transfer_batch('{TENANT}', ({batch_items}))"
            " WHERE error_code IS NULL;\n"), 0),
    ]  # fmt: skip
    peer_script = None
    if peer is not None:
        peer_script = _PICK + (
            "SELECT pgledger_create_transfer((SELECT id FROM bench_peer_account WHERE n = :a),"
            " (SELECT id FROM bench_peer_account WHERE n = :c), 1 + :b % 100);\n")
        out.append(Scenario("peer", f"{peer.name} transfer, uniform", 1, peer_script, 0, True))
    out += [
        Scenario("uniform_hi", f"transfer, uniform, {high_clients} clients", 1, _PICK + uniform,
                 high_clients),
        Scenario("hot_hi", f"transfer into hot revenue, {high_clients} clients", 1, _PICK + hot,
                 high_clients),
        Scenario("tpcb_1", "pgbench TPC-B-like, 1 client", 1, None, 1),
        Scenario("uniform_1", "transfer, uniform, 1 client", 1, _PICK + uniform, 1),
    ]  # fmt: skip
    if peer is not None:
        out.append(Scenario("peer_1", f"{peer.name} transfer, 1 client", 1, peer_script, 1, True))
    return out


@dataclass(frozen=True)
class RunResult:
    """One pgbench run of one scenario in one round."""

    scenario: str
    round: int
    calls_per_s: float
    transfers_per_s: float
    calls: int
    failed: int
    latencies_ms: list[float] = field(repr=False)


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    label: str
    transfers_per_call: int
    clients: int
    transfers_per_s: float  # median over rounds
    per_round: list[float]
    p50_ms: float  # per call
    p99_ms: float
    calls: int
    failed: int


@dataclass(frozen=True)
class Space:
    transfers: int
    bytes_added: int
    bytes_per_transfer: float
    by_relation: dict[str, float]


@dataclass(frozen=True)
class Target:
    name: str
    what: str
    value: float | None
    threshold: float
    higher_is_better: bool
    met: bool | None


@dataclass(frozen=True)
class BenchResult:
    database: str
    machine: dict[str, Any]
    clients: int
    seconds: float
    rounds: int
    high_clients: int
    peer: str | None
    scenarios: list[ScenarioResult]
    ratios: dict[str, float | None]
    ratios_per_round: dict[str, list[float]]
    space: Space | None
    targets: list[Target]
    verify_violations: int
    verify_s: float  # ledger.verify alone, on the history the bench left
    duration_s: float  # the whole bench: scratch database, space, every round, verify

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- pgbench


class BenchError(RuntimeError):
    """pgbench is missing or a run failed; the message says which and why."""


_TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)
_PROCESSED = re.compile(r"^number of transactions actually processed: (\d+)", re.MULTILINE)
_FAILED = re.compile(r"^number of failed transactions: (\d+)", re.MULTILINE)


class Pgbench:
    def __init__(self, dsn: str) -> None:
        from pgbalance import docgen

        try:
            self.path = docgen.pg_tool("pgbench", dsn)
        except docgen.DocgenError as exc:
            raise BenchError(str(exc)) from exc
        self.conninfo = docgen.client_conninfo(dsn)
        self.env = docgen.client_env(dsn)

    def run(self, args: Sequence[str], timeout: float) -> str:
        cmd = [self.path, *args, self.conninfo]
        out = subprocess.run(cmd, env=self.env, capture_output=True, text=True,
                             timeout=timeout, check=False)  # fmt: skip
        if out.returncode != 0:
            raise BenchError(f"pgbench {' '.join(args)} failed ({out.returncode}):\n"
                             f"{out.stderr.strip()[-2000:]}")  # fmt: skip
        return out.stdout + out.stderr

    def load(
        self,
        scenario: Scenario,
        *,
        clients: int,
        jobs: int,
        seconds: float | None,
        per_client: int | None,
        workdir: Path,
        tag: str,
    ) -> tuple[float, int, int, list[float]]:
        """Run one scenario; (calls/s, calls, failed, latencies in ms from the per-call log)."""
        args = ["-n", "-M", "prepared", "-c", str(clients), "-j", str(jobs)]
        if seconds is not None:
            args += ["-T", str(max(1, round(seconds)))]
        else:
            args += ["-t", str(per_client)]
        prefix = workdir / tag
        args += ["-l", f"--log-prefix={prefix}"]
        if scenario.script is None:
            args += ["-b", "tpcb-like"]
        else:
            script = workdir / f"{scenario.name}.sql"
            script.write_text(scenario.script, encoding="utf-8")
            args += ["-f", str(script)]
        text = self.run(args, timeout=(seconds or 0) * 4 + 600)
        tps = _TPS.search(text)
        processed = _PROCESSED.search(text)
        failed = _FAILED.search(text)
        if tps is None or processed is None:
            raise BenchError(f"unexpected pgbench output:\n{text[-2000:]}")
        latencies: list[float] = []
        for log in sorted(workdir.glob(f"{tag}.*")):
            for line in log.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if len(parts) >= 3 and parts[2].isdigit():
                    latencies.append(int(parts[2]) / 1000.0)
            log.unlink()
        return (float(tps.group(1)), int(processed.group(1)),
                int(failed.group(1)) if failed else 0, latencies)  # fmt: skip


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))
    return ordered[k]


# --------------------------------------------------------------------------- database


def _setup(dsn: str, pgbench: Pgbench, clients: int) -> None:
    """pgbench's tables (scale = clients) and the ledger: 10,000 funded accounts and a striped
    revenue account, all through the contract."""
    import psycopg
    from psycopg.types.json import Jsonb

    pgbench.run(["-i", "-q", "-s", str(max(1, clients))], timeout=900)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT * FROM ledger.open_account(%s, 'funding', 'EUR', NULL, NULL)",
                     (TENANT,))  # fmt: skip
        conn.execute("SELECT * FROM ledger.open_account(%s, 'revenue', 'EUR', NULL, NULL)",
                     (TENANT,))  # fmt: skip
        conn.execute("SELECT * FROM ledger.set_account_stripes(%s, 'revenue', %s)",
                     (TENANT, STRIPES))  # fmt: skip
        conn.execute("SELECT count(*) FROM generate_series(1, %s) AS g,"
                     " ledger.open_account(%s, 'acct' || g, 'EUR')", (ACCOUNTS, TENANT))
        for start in range(1, ACCOUNTS + 1, 1000):
            items = [{"key": f"fund-{n}", "from": "funding", "to": f"acct{n}", "amount": FUNDING}
                     for n in range(start, min(start + 1000, ACCOUNTS + 1))]  # fmt: skip
            done = conn.execute(
                "SELECT count(*) FROM ledger.transfer_batch(%s, %s, true) WHERE error_code IS NULL",
                (TENANT, Jsonb(items)),
            ).fetchone()
            if done != (len(items),):
                raise BenchError(f"funding the bench accounts failed: {done}")
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


def _setup_peer(dsn: str, peer: Peer) -> None:
    """The peer's own install steps (its README) in its scratch database, and 10,000 accounts
    (no floor: the peer has none by default) with a lookup table from account number to id."""
    import psycopg

    files = [peer.directory / "vendor" / "scoville-pgsql-ulid" / "ulid-to-uuid.sql",
             peer.directory / "vendor" / "scoville-pgsql-ulid" / "uuid-to-ulid.sql",
             peer.directory / "pgledger.sql"]  # fmt: skip
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise BenchError(f"peer {peer.name}: missing {', '.join(missing)}")
    with psycopg.connect(dsn) as conn:
        for f in files:
            conn.execute(f.read_text(encoding="utf-8"))
        conn.execute("CREATE TABLE bench_peer_account (n int PRIMARY KEY, id text NOT NULL)")
        conn.execute("INSERT INTO bench_peer_account (n, id) SELECT g,"
                     " (pgledger_create_account('acct' || g, 'EUR')).id"
                     " FROM generate_series(1, %s) AS g", (ACCOUNTS,))  # fmt: skip
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


_SIZES = """
SELECT c.relname, pg_relation_size(c.oid) AS bytes
  FROM pg_class AS c
 WHERE c.relnamespace = 'ledger'::regnamespace AND c.relkind IN ('r', 'i', 't')
"""
_TOAST = """
SELECT t.relname, pg_relation_size(t.oid)
  FROM pg_class AS c JOIN pg_class AS t ON t.oid = c.reltoastrelid
 WHERE c.relnamespace = 'ledger'::regnamespace
"""


def _sizes(dsn: str) -> tuple[dict[str, int], int]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        sizes = {str(r[0]): int(r[1]) for r in conn.execute(_SIZES).fetchall()}
        sizes.update({f"toast:{r[0]}": int(r[1]) for r in conn.execute(_TOAST).fetchall()})
        row = conn.execute("SELECT count(*) FROM ledger.entry WHERE tenant_id = %s",
                           (TENANT,)).fetchone()  # fmt: skip
    return sizes, int(row[0]) if row else 0


def _measure_space(dsn: str, pgbench: Pgbench, uniform: Scenario, transfers: int, clients: int,
                   jobs: int, workdir: Path) -> Space:  # fmt: skip
    """Bytes the ledger's tables and indexes grow by per transfer, over `transfers` single
    transfers between random accounts from all clients at once (no VACUUM, no REINDEX)."""
    before, entries_before = _sizes(dsn)
    per_client = max(1, math.ceil(transfers / clients))
    pgbench.load(uniform, clients=clients, jobs=jobs, seconds=None, per_client=per_client,
                 workdir=workdir, tag="space")  # fmt: skip
    after, entries_after = _sizes(dsn)
    done = entries_after - entries_before
    added = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    total = sum(added.values())
    per = {k: round(v / done, 1) for k, v in sorted(added.items()) if v}
    return Space(transfers=done, bytes_added=total,
                 bytes_per_transfer=round(total / done, 1) if done else math.nan,
                 by_relation=per)  # fmt: skip


def machine_info(dsn: str) -> dict[str, Any]:
    import psycopg

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    settings = ("server_version", "shared_buffers", "synchronous_commit", "fsync",
                "wal_sync_method", "max_connections", "work_mem", "max_wal_size")  # fmt: skip
    with psycopg.connect(dsn, autocommit=True) as conn:
        values = {name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
                  for name in settings}  # fmt: skip
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model or platform.processor() or platform.machine(),
        "os": platform.platform(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "postgres": values,
    }


# --------------------------------------------------------------------------- the bench


def run_bench(
    dsn: str,
    *,
    clients: int = 8,
    seconds: float = 10,
    rounds: int = 2,
    space_transfers: int = SPACE_TRANSFERS,
    high_clients: int = 32,
    peer: Peer | None = None,
    progress: Callable[[str], None] | None = None,
) -> BenchResult:
    """Run every scenario `rounds` times, interleaved, in a scratch database on dsn's server."""
    from contextlib import ExitStack

    from psycopg.conninfo import conninfo_to_dict

    from pgbalance import docgen
    from pgbalance.migrate import migrate

    say = progress or (lambda _msg: None)
    started = time.monotonic()
    all_scenarios = scenarios(high_clients, peer)
    by_name = {s.name: s for s in all_scenarios}
    with ExitStack() as stack:
        scratch = stack.enter_context(docgen.scratch_database(dsn, prefix="bench"))
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pgbalance-bench-")))
        pgbench = Pgbench(scratch)
        peer_bench = None
        machine = machine_info(scratch)
        database = str(conninfo_to_dict(scratch).get("dbname", ""))
        say(f"scratch database {database}: migrating, "
            f"pgbench -i -s {clients}, {ACCOUNTS} accounts")  # fmt: skip
        migrate(scratch)
        _setup(scratch, pgbench, clients)
        if peer is not None:
            peer_db = stack.enter_context(docgen.scratch_database(dsn, prefix="bench_peer"))
            say(f"peer {peer.name}: installing from {peer.directory}, {ACCOUNTS} accounts")
            _setup_peer(peer_db, peer)
            peer_bench = Pgbench(peer_db)

        space = None
        if space_transfers > 0:
            say(f"space: {space_transfers} transfers")
            space = _measure_space(scratch, pgbench, by_name["uniform"], space_transfers,
                                   clients, max(1, min(clients, os.cpu_count() or 1)),
                                   workdir)  # fmt: skip

        runs: list[RunResult] = []
        for r in range(1, rounds + 1):
            for sc in all_scenarios:
                n = sc.clients or clients
                say(f"round {r}/{rounds}: {sc.name} ({n} clients, {seconds:g} s)")
                runner = peer_bench if sc.peer and peer_bench is not None else pgbench
                tps, calls, failed, lat = runner.load(
                    sc, clients=n, jobs=max(1, min(n, os.cpu_count() or 1)), seconds=seconds,
                    per_client=None, workdir=workdir, tag=f"{sc.name}_r{r}")  # fmt: skip
                runs.append(RunResult(sc.name, r, tps, tps * sc.transfers_per_call, calls,
                                      failed, lat))  # fmt: skip

        import psycopg

        with psycopg.connect(scratch, autocommit=True) as conn:
            verify_started = time.monotonic()
            violations = len(conn.execute("SELECT * FROM ledger.verify(%s)",
                                          (TENANT,)).fetchall())  # fmt: skip
            verify_s = round(time.monotonic() - verify_started, 2)
        machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]

    results: list[ScenarioResult] = []
    for sc in all_scenarios:
        mine = [x for x in runs if x.scenario == sc.name]
        lat = [v for x in mine for v in x.latencies_ms]
        per_round = [round(x.transfers_per_s, 1) for x in mine]
        results.append(ScenarioResult(
            name=sc.name, label=sc.label, transfers_per_call=sc.transfers_per_call,
            clients=sc.clients or clients,
            transfers_per_s=round(statistics.median(per_round), 1) if per_round else math.nan,
            per_round=per_round, p50_ms=round(_percentile(lat, 0.50), 2),
            p99_ms=round(_percentile(lat, 0.99), 2), calls=sum(x.calls for x in mine),
            failed=sum(x.failed for x in mine)))  # fmt: skip

    def per_round_ratio(num: str, den: str) -> list[float]:
        out = []
        for r in range(1, rounds + 1):
            a = next((x for x in runs if x.scenario == num and x.round == r), None)
            b = next((x for x in runs if x.scenario == den and x.round == r), None)
            if a is not None and b is not None and b.transfers_per_s > 0:
                out.append(round(a.transfers_per_s / b.transfers_per_s, 3))
        return out

    ratios_per_round = {k: per_round_ratio(num, den) for k, (num, den) in RATIOS.items()}
    ratios: dict[str, float | None] = {
        k: (round(statistics.median(v), 3) if v else None) for k, v in ratios_per_round.items()
    }
    by_result = {x.name: x for x in results}
    values: dict[str, float | None] = dict(ratios)
    values["p50_uniform_vs_tpcb_1"] = round(
        by_result["uniform_1"].p50_ms / by_result["tpcb_1"].p50_ms, 3)
    values["bytes_per_transfer"] = space.bytes_per_transfer if space else None
    targets = []
    for key, (what, threshold, higher) in TARGETS.items():
        value = values.get(key)
        met = None if value is None else (value >= threshold if higher else value <= threshold)
        targets.append(Target(key, what, value, threshold, higher, met))
    return BenchResult(database=database, machine=machine, clients=clients, seconds=seconds,
                       rounds=rounds, high_clients=high_clients,
                       peer=None if peer is None else peer.name,
                       scenarios=results, ratios=ratios, ratios_per_round=ratios_per_round,
                       space=space, targets=targets, verify_violations=violations,
                       verify_s=verify_s,
                       duration_s=round(time.monotonic() - started, 1))  # fmt: skip


# --------------------------------------------------------------------------- output


def render(result: BenchResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    m = result.machine
    console.print(f"[bold]pgbalance bench[/bold]: {result.clients} clients (and "
                  f"{result.high_clients} and 1), prepared statements, "
                  f"{result.rounds} rounds x {result.seconds:g} s, interleaved; "
                  f"{m['nproc']} CPUs ({m['cpu_model']}), PostgreSQL "
                  f"{m['postgres']['server_version']}, load {m['loadavg_start']} -> "
                  f"{m.get('loadavg_end')}")  # fmt: skip
    table = Table(title="throughput (median of rounds) and latency per call")
    for col in ("scenario", "clients", "transfers/s", "per round", "vs TPC-B", "p50 ms", "p99 ms",
                "failed"):  # fmt: skip
        table.add_column(col, justify="left" if col == "scenario" else "right")
    tpcb = next((s.transfers_per_s for s in result.scenarios if s.name == "tpcb"), math.nan)
    for s in result.scenarios:
        table.add_row(s.label, str(s.clients), f"{s.transfers_per_s:,.0f}",
                      " ".join(f"{v:,.0f}" for v in s.per_round),
                      f"{s.transfers_per_s / tpcb:.2f}x" if tpcb and s.clients == result.clients
                      else "-",
                      f"{s.p50_ms:.2f}", f"{s.p99_ms:.2f}", str(s.failed))  # fmt: skip
    console.print(table)
    if result.space is not None:
        console.print(f"space: {result.space.bytes_per_transfer:.0f} bytes of ledger tables and "
                      f"indexes per transfer ({result.space.transfers:,} transfers)")  # fmt: skip
    targets = Table(title="targets (ratios: median of per-round ratios)")
    for col in ("target", "value", "threshold", "met"):
        targets.add_column(col)
    for t in result.targets:
        sign = ">=" if t.higher_is_better else "<="
        mark = "-" if t.met is None else ("[green]yes[/green]" if t.met else "[red]no[/red]")
        targets.add_row(t.what, "-" if t.value is None else f"{t.value:g}",
                        f"{sign} {t.threshold:g}", mark)  # fmt: skip
    console.print(targets)
    verdict = "[green]clean[/green]" if result.verify_violations == 0 else (
        f"[red]{result.verify_violations} violations[/red]")
    console.print(f"ledger.verify after the bench: {verdict}; took {result.verify_s:.2f} s "
                  f"(the whole bench: {result.duration_s:.0f} s)")


def plot(result: BenchResult, path: Path) -> None:
    """A bar chart of transfers/s per scenario (needs the `plot` extra: matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BenchError("--plot needs matplotlib: pip install 'pgbalance[plot]'") from exc
    names = [s.label for s in result.scenarios]
    values = [s.transfers_per_s for s in result.scenarios]
    tpcb = values[0] if values else 0.0
    fig, ax = plt.subplots(figsize=(8, 4.5))
    palette = ["#888888", "#3b75af", "#ef8636", "#519e3e", "#c53a32", "#8d69b8", "#84584e"]
    bars = ax.bar(names, values, color=[palette[i % len(palette)] for i in range(len(values))])
    for bar, value in zip(bars, values, strict=True):
        label = f"{value:,.0f}/s" + (f"\n{value / tpcb:.2f}x TPC-B" if tpcb else "")
        ax.annotate(label, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)  # fmt: skip
    ax.set_ylim(0, max(values + [1.0]) * 1.2)
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    ax.set_ylabel("transfers (TPC-B: transactions) per second")
    m = result.machine
    ax.set_title(f"pgbalance bench: {result.clients} clients, {m['nproc']} CPUs, "
                 f"PostgreSQL {m['postgres']['server_version']}", fontsize=10)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
