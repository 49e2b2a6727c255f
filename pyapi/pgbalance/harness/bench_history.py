"""`pgbalance bench --history`: what reading and checking cost as history grows.

In a scratch database (`bench_history_<hex>`, dropped afterwards) the ledger is grown to each
level of postings (default 100k, 1M, 10M) through ledger.transfer_batch, the kernel's own
batch path (so every posting goes through the posting trigger and the guards), sealed every
`--seal-every` postings the way cron would run `pgbalance seal`. Customers pay a striped
revenue account, which therefore holds half of all postings. At each level it measures
(median of several calls, each in its own transaction):

- statement_page of the revenue account: the first page, and a page as deep as the history
  goes (its cursor comes from a reader that followed the statement page by page);
- balance_at of the revenue account and of a customer at random instants of the history;
- get_account; verify after a seal (with a fixed tail of movements after it) and verify_full;
- transfer throughput on one connection, without and while a seal runs;
- the backend's peak private memory (RssAnon, sampled) during verify_full;
- bytes per posting of the account/time index and of the BRIN index (the write-side cost);
- the load average, and get_account in a tenant without history (a yardstick of what any
  call costs at that moment on a shared machine).

Paged, point and incremental operations should stay flat (within 2x) from the first level to
the last; verify_full grows with history (docs/performance.md, "History").
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

TENANT = "history"
YARDSTICK = "yardstick"
CUSTOMERS = 1000
BATCH = 1000
TAIL = 2000
PAGE = 100
REPEAT = 15
DEFAULT_LEVELS = (100_000, 1_000_000, 10_000_000)
DEFAULT_SEAL_EVERY = 50_000


@dataclass
class Level:
    postings: int
    revenue_postings: int
    seals: int
    build_seconds: float
    page_first_ms: float
    page_deep_ms: float
    balance_at_ms: float
    get_account_ms: float
    verify_ms: float
    verify_full_ms: float
    seal_ms: float
    transfers_per_s: float
    transfers_per_s_sealing: float
    verify_full_peak_rss_anon_kb: int
    index_bytes_per_posting: float
    brin_bytes: int
    # 1-minute load average when the level's reads were measured: a shared machine's load
    # moves the absolute figures, so each row says what it was measured under.
    load_average: float = 0.0
    # get_account in a tenant with no history, measured alongside: what a call costs under
    # the load of the moment, to read the other figures against.
    yardstick_ms: float = 0.0


def _ms(conn: Any, sql: str, params: Any, repeat: int = REPEAT) -> float:
    """Median milliseconds of `repeat` executions, each its own transaction (autocommit)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        conn.execute(sql, params).fetchall()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


class Builder:
    """Grows the bench tenant's history through ledger.transfer_batch, sealing as cron would."""

    def __init__(self, conn: Any, seal_every: int, say: Callable[[str], None]) -> None:
        self.conn = conn
        self.seal_every = seal_every
        self.say = say
        self.transfers = 0
        self.since_seal = 0
        self.rng = random.Random(11)

    def setup(self) -> None:
        self.conn.execute(
            "SELECT * FROM ledger.open_account(%s, 'revenue', 'EUR', NULL, NULL)", (TENANT,)
        )
        self.conn.execute("SELECT * FROM ledger.set_account_stripes(%s, 'revenue', 4)", (TENANT,))
        self.conn.execute("SELECT * FROM ledger.open_account(%s, 'yard', 'EUR')", (YARDSTICK,))
        self.conn.execute(
            "SELECT count(*) FROM generate_series(1, %s) AS g,"
            " ledger.open_account(%s, 'cust' || g, 'EUR', NULL, NULL)",
            (CUSTOMERS, TENANT),
        )

    def batch(self, size: int) -> None:
        from psycopg.types.json import Jsonb

        items = [
            {
                "key": f"h-{self.transfers + i}",
                "from": f"cust{self.rng.randint(1, CUSTOMERS)}",
                "to": "revenue",
                "amount": self.rng.randint(1, 5000),
            }
            for i in range(size)
        ]
        row = self.conn.execute(
            "SELECT count(*) FROM ledger.transfer_batch(%s, %s, true)", (TENANT, Jsonb(items))
        ).fetchone()
        assert row == (size,), row
        self.transfers += size
        self.since_seal += 2 * size

    def seal(self) -> float:
        start = time.perf_counter()
        self.conn.execute("SELECT * FROM ledger.seal(%s)", (TENANT,)).fetchall()
        self.since_seal = 0
        return (time.perf_counter() - start) * 1000

    def grow_to(self, postings: int) -> None:
        last_report = time.perf_counter()
        while 2 * self.transfers < postings:
            self.batch(min(BATCH, (postings - 2 * self.transfers + 1) // 2))
            if self.since_seal >= self.seal_every:
                self.seal()
            if time.perf_counter() - last_report > 30:
                self.say(f"{2 * self.transfers:,} postings")
                last_report = time.perf_counter()


class Reader:
    """Follows the revenue account's statement page by page, as a client would; keeps the
    cursor one page before the end (a deep page)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.last: str | None = None
        self.deep: str | None = None

    def catch_up(self) -> None:
        while True:
            rows = self.conn.execute(
                "SELECT cursor FROM ledger.statement_page(%s, 'revenue', %s, 1000)",
                (TENANT, self.last),
            ).fetchall()
            if len(rows) > PAGE:
                self.deep = str(rows[-PAGE - 1][0])
            if rows:
                self.last = str(rows[-1][0])
            if len(rows) < 1000:
                return


def _transfers_per_s(dsn: str, seconds: float, during: Callable[[], None] | None) -> float:
    """Single transfers on one connection for `seconds` (or for as long as `during` runs,
    which then runs in another thread)."""
    import psycopg

    done = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        rng = random.Random()
        stop = threading.Event()
        thread = None
        if during is not None:
            def run_then_stop() -> None:
                during()
                stop.set()

            thread = threading.Thread(target=run_then_stop)
            thread.start()
        start = time.perf_counter()
        while not stop.is_set() and (during is not None or time.perf_counter() - start < seconds):
            conn.execute(
                "SELECT * FROM ledger.transfer(%s, %s, %s, 'revenue', %s)",
                (TENANT, f"t-{rng.getrandbits(64):x}", f"cust{rng.randint(1, CUSTOMERS)}", 1),
            )
            done += 1
        elapsed = time.perf_counter() - start
        if thread is not None:
            thread.join()
    return done / elapsed


@dataclass
class SealLoadRound:
    order: str
    plain_per_s: float
    sealing_per_s: float
    seals: int
    postings_sealed: int
    seal_ms_median: float
    seal_ms_max: float
    # CPU (user + system) of the sealing backend per posting sealed, from /proc.
    seal_cpu_us_per_posting: float

    @property
    def ratio(self) -> float:
        return self.sealing_per_s / self.plain_per_s if self.plain_per_s else 0.0


@dataclass
class SealLoad:
    postings: int
    clients: int
    window_s: float
    interval_s: float
    rounds: list[SealLoadRound]
    load_average: float

    @property
    def ratio(self) -> float:
        """Total transfers while sealing over total without, over all rounds (the windows
        are equally long)."""
        plain = sum(r.plain_per_s for r in self.rounds)
        return sum(r.sealing_per_s for r in self.rounds) / plain if plain else 0.0


def _backend_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a local backend (/proc/PID/stat fields 14 and 15); 0 when
    the server is not local (the seal's CPU is then reported as 0, not measured)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _clients_per_s(dsn: str, clients: int, seconds: float) -> float:
    """Single ledger.transfer calls from `clients` connections (one thread each) for
    `seconds`: transfers per second, all clients together."""
    import psycopg

    conns = [psycopg.connect(dsn, autocommit=True) for _ in range(clients)]
    counts = [0] * clients
    stop = threading.Event()

    def work(i: int) -> None:
        rng = random.Random()
        conn = conns[i]
        while not stop.is_set():
            conn.execute(
                "SELECT * FROM ledger.transfer(%s, %s, %s, 'revenue', %s)",
                (TENANT, f"t-{rng.getrandbits(64):x}", f"cust{rng.randint(1, CUSTOMERS)}", 1),
            )
            counts[i] += 1

    try:
        with ThreadPoolExecutor(clients) as pool:
            start = time.perf_counter()
            running = [pool.submit(work, i) for i in range(clients)]
            time.sleep(seconds)
            stop.set()
            for r in running:
                r.result()  # a client that failed fails the measure, not only its thread
        elapsed = time.perf_counter() - start
    finally:
        for c in conns:
            c.close()
    return sum(counts) / elapsed


def _seal_loop(dsn: str, interval: float, stop: threading.Event,
               out: list[tuple[float, int]], cpu: list[float]) -> None:  # fmt: skip
    """Seal the bench tenant every `interval` seconds until stopped, as cron would: each seal
    covers what came since the previous one. Appends (ms, postings) per seal and the
    backend's CPU seconds over the loop."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        pid = conn.info.backend_pid
        cpu_start = _backend_cpu_s(pid)
        while not stop.is_set():
            start = time.perf_counter()
            row = conn.execute("SELECT postings FROM ledger.seal(%s)", (TENANT,)).fetchone()
            out.append(((time.perf_counter() - start) * 1000, int(row[0]) if row else 0))
            stop.wait(max(0.0, interval - (time.perf_counter() - start)))
        cpu.append(_backend_cpu_s(pid) - cpu_start)


def seal_load(dsn: str, clients: int, window: float, interval: float, rounds: int,
              say: Callable[[str], None]) -> SealLoad:  # fmt: skip
    """Transfers/s from `clients` connections with and without a seal loop running, in
    `rounds` interleaved pairs of `window`-second runs (plain then sealing, then sealing then
    plain, ...), so drift in the machine's load falls on both sides alike. Before each sealing
    window the backlog is sealed (untimed): the loop then seals only what comes during it."""
    import psycopg

    results: list[SealLoadRound] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for n in range(rounds):
            order = "plain,sealing" if n % 2 == 0 else "sealing,plain"
            rates: dict[str, float] = {}
            seals: list[tuple[float, int]] = []
            cpu: list[float] = []
            for phase in order.split(","):
                if phase == "plain":
                    rates[phase] = _clients_per_s(dsn, clients, window)
                    continue
                conn.execute("SELECT * FROM ledger.seal(%s)", (TENANT,)).fetchall()
                stop = threading.Event()
                with ThreadPoolExecutor(1) as pool:
                    loop = pool.submit(_seal_loop, dsn, interval, stop, seals, cpu)
                    try:
                        rates[phase] = _clients_per_s(dsn, clients, window)
                    finally:
                        stop.set()
                    loop.result()  # a seal that failed fails the round
            sealed = sum(p for _, p in seals)
            ms = [m for m, _ in seals] or [0.0]
            result = SealLoadRound(
                order=order, plain_per_s=rates["plain"], sealing_per_s=rates["sealing"],
                seals=len(seals), postings_sealed=sealed, seal_ms_median=statistics.median(ms),
                seal_ms_max=max(ms),
                seal_cpu_us_per_posting=(cpu[0] * 1e6 / sealed) if cpu and sealed else 0.0,
            )  # fmt: skip
            say(f"round {n + 1}: {result.plain_per_s:.0f}/s plain,"
                f" {result.sealing_per_s:.0f}/s sealing ({result.ratio:.2f}x),"
                f" {result.seals} seals of {sealed / max(1, result.seals):.0f} postings,"
                f" median {result.seal_ms_median:.0f} ms")  # fmt: skip
            results.append(result)
        total = conn.execute("SELECT count(*) FROM ledger.posting WHERE tenant_id = %s",
                             (TENANT,)).fetchone()  # fmt: skip
    return SealLoad(postings=int(total[0]) if total else 0, clients=clients,
                    window_s=window, interval_s=interval, rounds=results,
                    load_average=os.getloadavg()[0])  # fmt: skip


def render_seal_load(load: SealLoad) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"transfers while sealing: {load.clients} clients,"
                        f" {load.window_s:g} s windows, a seal every {load.interval_s:g} s,"
                        f" at {load.postings:,} postings")  # fmt: skip
    for title in ("round", "order", "plain/s", "sealing/s", "ratio", "seals", "postings/seal",
                  "seal ms (median)", "seal ms (max)", "seal CPU us/posting"):  # fmt: skip
        table.add_column(title, justify="right")
    for n, r in enumerate(load.rounds, 1):
        table.add_row(str(n), r.order, f"{r.plain_per_s:.1f}", f"{r.sealing_per_s:.1f}",
                      f"{r.ratio:.3f}", str(r.seals), f"{r.postings_sealed / max(1, r.seals):.0f}",
                      f"{r.seal_ms_median:.1f}", f"{r.seal_ms_max:.1f}",
                      f"{r.seal_cpu_us_per_posting:.1f}")  # fmt: skip
    table.add_row("all", "", "", "", f"{load.ratio:.3f}", "", "", "", "", "")
    Console(width=max(160, Console().width)).print(table)


def run_seal_load(dsn: str, level: int, args: argparse.Namespace,
                  say: Callable[[str], None]) -> SealLoad:  # fmt: skip
    """Grow a scratch ledger to `level` postings (sealed as it grows), then seal_load."""
    import psycopg

    from pgbalance import docgen
    from pgbalance.migrate import migrate

    with docgen.scratch_database(dsn, prefix="bench_history") as scratch:
        say("migrating the scratch database")
        migrate(scratch)
        with psycopg.connect(scratch, autocommit=True) as conn:
            builder = Builder(conn, args.seal_every, say)
            builder.setup()
            say(f"growing to {level:,} postings")
            builder.grow_to(level)
            builder.seal()
            conn.execute("VACUUM ANALYZE ledger.posting")
        if args.seal_load_pause:
            say(f"paused {args.seal_load_pause:g} s (database {scratch})")
            time.sleep(args.seal_load_pause)
        say(f"transfers with and without a seal loop, {args.seal_rounds} rounds")
        return seal_load(scratch, args.seal_clients, args.seal_window, args.seal_interval,
                         args.seal_rounds, say)  # fmt: skip


def _peak_rss_anon_kb(conn: Any, sql: str, params: Any) -> tuple[float, int]:
    """Run sql on conn while sampling its backend's RssAnon (/proc: the server is local)."""
    pid = conn.info.backend_pid
    peak = 0
    running = threading.Event()
    running.set()

    def sample() -> None:
        nonlocal peak
        path = Path(f"/proc/{pid}/status")
        while running.is_set():
            try:
                for line in path.read_text(encoding="ascii").splitlines():
                    if line.startswith("RssAnon:"):
                        peak = max(peak, int(line.split()[1]))
            except OSError:
                return
            time.sleep(0.02)

    thread = threading.Thread(target=sample)
    thread.start()
    start = time.perf_counter()
    conn.execute(sql, params).fetchall()
    elapsed = (time.perf_counter() - start) * 1000
    running.clear()
    thread.join()
    return elapsed, peak


def measure(dsn: str, conn: Any, builder: Builder, reader: Reader) -> Level:
    import psycopg

    # A seal at the level, then a fixed tail after it: what verify reads is that tail.
    builder.seal()
    times = [
        r[0]
        for r in conn.execute(
            "SELECT p.posted_at FROM ledger.posting AS p TABLESAMPLE SYSTEM (1) REPEATABLE (7)"
            " WHERE p.tenant_id = %s LIMIT 200",
            (TENANT,),
        ).fetchall()
    ]
    for _ in range(TAIL // BATCH):
        builder.batch(BATCH)
    reader.catch_up()
    conn.execute("ANALYZE ledger.posting")
    page_first = _ms(conn, "SELECT * FROM ledger.statement_page(%s, 'revenue', NULL, %s)",
                     (TENANT, PAGE))  # fmt: skip
    page_deep = _ms(conn, "SELECT * FROM ledger.statement_page(%s, 'revenue', %s, %s)",
                    (TENANT, reader.deep, PAGE))  # fmt: skip
    rng = random.Random(5)
    balance_samples = []
    for _ in range(REPEAT):
        at = rng.choice(times)
        code = rng.choice(["revenue", f"cust{rng.randint(1, CUSTOMERS)}"])
        balance_samples.append(_ms(conn, "SELECT ledger.balance_at(%s, %s, %s)",
                                   (TENANT, code, at), repeat=1))  # fmt: skip
    get_account = _ms(conn, "SELECT * FROM ledger.get_account(%s, 'revenue')", (TENANT,))
    load = os.getloadavg()[0]
    yardstick = _ms(conn, "SELECT * FROM ledger.get_account(%s, 'yard')", (YARDSTICK,))
    verify = _ms(conn, "SELECT * FROM ledger.verify(%s)", (TENANT,), repeat=5)
    with psycopg.connect(dsn, autocommit=True) as fresh:
        verify_full, peak = _peak_rss_anon_kb(fresh, "SELECT * FROM ledger.verify_full(%s)",
                                              (TENANT,))  # fmt: skip
    plain = _transfers_per_s(dsn, 3.0, None)
    # Enough new postings for a seal that takes a while, then transfers while it runs.
    for _ in range(builder.seal_every // (2 * BATCH)):
        builder.batch(BATCH)
    seal_ms: list[float] = []
    sealing = _transfers_per_s(dsn, 0, lambda: seal_ms.append(builder.seal()))
    row = conn.execute(
        "SELECT (SELECT count(*) FROM ledger.posting WHERE tenant_id = %(t)s),"
        " (SELECT count(*) FROM ledger.seal WHERE tenant_id = %(t)s),"
        " pg_relation_size('ledger.posting_account_time_idx'),"
        " pg_relation_size('ledger.posting_time_brin')",
        {"t": TENANT},
    ).fetchone()
    total, seals, index_bytes, brin_bytes = (int(v) for v in row)
    revenue = conn.execute(
        "SELECT count(*) FROM ledger.posting AS p JOIN ledger.account AS a"
        " USING (tenant_id, account_id) WHERE p.tenant_id = %s AND a.code = 'revenue'",
        (TENANT,),
    ).fetchone()
    return Level(
        postings=total,
        revenue_postings=int(revenue[0]) if revenue else 0,
        seals=seals,
        build_seconds=0.0,
        page_first_ms=page_first,
        page_deep_ms=page_deep,
        balance_at_ms=statistics.median(balance_samples),
        get_account_ms=get_account,
        verify_ms=verify,
        verify_full_ms=verify_full,
        seal_ms=seal_ms[0] if seal_ms else 0.0,
        transfers_per_s=plain,
        transfers_per_s_sealing=sealing,
        verify_full_peak_rss_anon_kb=peak,
        index_bytes_per_posting=index_bytes / max(1, total),
        brin_bytes=brin_bytes,
        load_average=load,
        yardstick_ms=yardstick,
    )


def run_history(dsn: str, levels: list[int], seal_every: int, say: Callable[[str], None],
                on_level: Callable[[list[Level]], None]) -> list[Level]:  # fmt: skip
    """Grow and measure level by level; on_level gets the results so far after each (a 10M
    level takes long: what was measured before it is kept)."""
    import psycopg

    from pgbalance import docgen
    from pgbalance.migrate import migrate

    results: list[Level] = []
    with docgen.scratch_database(dsn, prefix="bench_history") as scratch:
        say("migrating the scratch database")
        migrate(scratch)
        with psycopg.connect(scratch, autocommit=True) as conn:
            builder = Builder(conn, seal_every, say)
            builder.setup()
            reader = Reader(conn)
            for level in levels:
                start = time.perf_counter()
                say(f"growing to {level:,} postings")
                builder.grow_to(level)
                built = time.perf_counter() - start
                conn.execute("VACUUM ANALYZE ledger.posting")
                say(f"measuring at {level:,} postings")
                result = measure(scratch, conn, builder, reader)
                result.build_seconds = built
                results.append(result)
                on_level(results)
    return results


COLUMNS: list[tuple[str, str]] = [
    ("postings", "postings"),
    ("revenue_postings", "revenue postings"),
    ("page_first_ms", "page first ms"),
    ("page_deep_ms", "page deep ms"),
    ("balance_at_ms", "balance_at ms"),
    ("get_account_ms", "get_account ms"),
    ("verify_ms", "verify after seal ms"),
    ("verify_full_ms", "verify_full ms"),
    ("seal_ms", "seal ms"),
    ("transfers_per_s", "transfers/s"),
    ("transfers_per_s_sealing", "transfers/s sealing"),
    ("verify_full_peak_rss_anon_kb", "verify_full peak kB"),
    ("index_bytes_per_posting", "time index B/posting"),
    ("load_average", "load"),
    ("yardstick_ms", "yardstick ms"),
]


def _cell(value: float | int) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"


def render(results: list[Level]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="pgbalance bench --history")
    for _, title in COLUMNS:
        table.add_column(title, justify="right")
    for level in results:
        table.add_row(*(_cell(getattr(level, key)) for key, _ in COLUMNS))
    if len(results) > 1:
        first, last = results[0], results[-1]
        table.add_row(*(
            "last/first" if key == "postings" else
            f"{getattr(last, key) / getattr(first, key):.2f}x" if getattr(first, key) else ""
            for key, _ in COLUMNS
        ))  # fmt: skip
    Console(width=max(160, Console().width)).print(table)


def plot(results: list[Level], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [r.postings for r in results]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for key, label in [("page_first_ms", "statement_page, first"),
                       ("page_deep_ms", "statement_page, deepest"),
                       ("balance_at_ms", "balance_at"), ("get_account_ms", "get_account"),
                       ("verify_ms", "verify after a seal"), ("verify_full_ms", "verify_full"),
                       ("seal_ms", "seal")]:  # fmt: skip
        ax.plot(xs, [getattr(r, key) for r in results], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("postings in the ledger")
    ax.set_ylabel("ms per call (median)")
    ax.set_title("Cost per call as history grows")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--levels", default=",".join(str(n) for n in DEFAULT_LEVELS),
                        help="--history: posting counts to measure at (default 100k,1M,10M)")
    parser.add_argument("--seal-every", type=int, default=DEFAULT_SEAL_EVERY,
                        help="--history: postings between seals while growing (default 50000)")
    parser.add_argument("--seal-load", action="store_true",
                        help="--history: instead of the levels, transfers/s with and without a"
                             " seal loop running, at the first level")  # fmt: skip
    parser.add_argument("--seal-clients", type=int, default=4,
                        help="--seal-load: transfer clients (default 4)")
    parser.add_argument("--seal-window", type=float, default=20,
                        help="--seal-load: seconds per run (default 20)")
    parser.add_argument("--seal-interval", type=float, default=3,
                        help="--seal-load: seconds between seals in the loop (default 3)")
    parser.add_argument("--seal-rounds", type=int, default=4,
                        help="--seal-load: interleaved pairs of runs (default 4)")
    parser.add_argument("--seal-load-pause", type=float, default=0, help=argparse.SUPPRESS)


def run(args: argparse.Namespace, dsn: str) -> int:
    try:
        levels = sorted(int(v.replace("_", "")) for v in str(args.levels).split(","))
    except ValueError:
        print("pgbalance bench --history: --levels takes posting counts, e.g. 100000,1000000",
              file=sys.stderr)  # fmt: skip
        return 2
    if not levels or levels[0] < 10 * TAIL or args.seal_every < 2 * BATCH:
        print(f"pgbalance bench --history: levels must be >= {10 * TAIL},"
              f" --seal-every >= {2 * BATCH}", file=sys.stderr)  # fmt: skip
        return 2

    if args.seal_load:
        if args.seal_clients < 1 or args.seal_rounds < 1 or args.seal_window <= 0 \
                or args.seal_interval <= 0:
            print("pgbalance bench --history --seal-load: --seal-clients and --seal-rounds must"
                  " be >= 1, --seal-window and --seal-interval > 0", file=sys.stderr)  # fmt: skip
            return 2
        load = run_seal_load(dsn, levels[0], args,
                             lambda msg: print(f"... {msg}", file=sys.stderr))  # fmt: skip
        render_seal_load(load)
        if args.json is not None:
            doc = asdict(load) | {"ratio": load.ratio,
                                  "round_ratios": [r.ratio for r in load.rounds]}
            args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        return 0

    def on_level(results: list[Level]) -> None:
        render(results)
        if args.json is not None:
            args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n",
                                 encoding="utf-8")  # fmt: skip
        if args.plot is not None and len(results) > 1:
            plot(results, args.plot)

    run_history(dsn, levels, args.seal_every, lambda msg: print(f"... {msg}", file=sys.stderr),
                on_level)  # fmt: skip
    return 0
