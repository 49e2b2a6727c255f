"""`pgbalance run`: a live race against the kernel, then proof that nothing was lost.

Opens a few accounts in a fresh tenant, funds them from an unbounded source account, then
releases N threads (one connection each) together (pgbalance.harness.together); each fires
random ledger.transfer calls: plain moves, overdrafts (PB001), moves into a capped account
(PB002), exact retries (replayed), a retry with another amount (PB003) and keys that every
thread sends at the same instant. The client keeps its own tally of what succeeded; at the
end the server's balances must equal it, the tenant must sum to zero and ledger.verify must
be clean.
All rules live in SQL: this file only calls the contract and counts.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from pgbalance import errors
from pgbalance.commands.base import violations_table
from pgbalance.harness.together import Together
from pgbalance.migrate import migrate

CURRENCY = "EUR"
SOURCE = "source"
FUNDING = 100_000
CAPPED_MAX = 120_000  # the last account has a ceiling, so transfers into it often hit PB002
# SQLSTATEs the kernel may answer with in this race; anything else fails the run.
EXPECTED_REJECTIONS = {
    cls.sqlstate: cls.name
    for cls in (errors.InsufficientFunds, errors.LimitExceeded, errors.IdempotencyConflict)
}


@dataclass
class Op:
    key: str
    src: str
    dst: str
    amount: int
    kind: str  # fresh | hot | replay | conflict


@dataclass
class Tally:
    """Shared between the worker threads; every update under `lock`."""

    total_ops: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    deltas: Counter[str] = field(default_factory=Counter)
    surprises: list[str] = field(default_factory=list)

    def record(self, op: Op, outcome: str, replayed: bool = False) -> None:
        with self.lock:
            self.done += 1
            self.outcomes[outcome] += 1
            if outcome == "ok" and not replayed:
                self.deltas[op.src] -= op.amount
                self.deltas[op.dst] += op.amount
            expected_replay = op.kind == "replay"
            if outcome == "ok" and replayed != expected_replay and op.kind != "hot":
                self.surprises.append(f"{op.key}: replayed={replayed} for a {op.kind} call")
            if op.kind == "conflict" and outcome != "PB003":
                self.surprises.append(f"{op.key}: reused with another amount gave {outcome}")
            if outcome not in EXPECTED_REJECTIONS and outcome not in ("ok", "replayed"):
                self.surprises.append(f"{op.key}: {outcome}")


def _codes(n: int) -> list[str]:
    return [f"acct-{i:02d}" for i in range(n)]


def _random_op(rng: random.Random, codes: list[str], key: str, kind: str = "fresh") -> Op:
    src, dst = rng.sample(codes, 2)
    roll = rng.random()
    if roll < 0.15:
        amount = rng.randint(FUNDING, 4 * FUNDING)  # usually an overdraft
    else:
        amount = rng.randint(1, FUNDING // 5)
    return Op(key=key, src=src, dst=dst, amount=amount, kind=kind)


def _transfer(conn: psycopg.Connection[Any], tenant: str, op: Op) -> bool:
    row = conn.execute(
        "SELECT replayed FROM ledger.transfer(%s, %s, %s, %s, %s)",
        (tenant, op.key, op.src, op.dst, op.amount),
    ).fetchone()
    return bool(row and row[0])


def _worker(
    conn: psycopg.Connection[Any], tenant: str, tid: int, ops: int, codes: list[str],
    seed: int, tally: Tally,
) -> None:  # fmt: skip
    rng = random.Random(seed * 1000 + tid)
    succeeded: list[Op] = []
    for i in range(ops):
        roll = rng.random()
        if i % 10 == 0:
            # Same key, same parameters, from every thread at about the same moment.
            op = _random_op(random.Random(seed * 7919 + i), codes, f"hot-{i}", "hot")
        elif succeeded and roll < 0.08:
            prev = rng.choice(succeeded)
            op = Op(prev.key, prev.src, prev.dst, prev.amount, "replay")
        elif succeeded and roll < 0.12:
            prev = rng.choice(succeeded)
            op = Op(prev.key, prev.src, prev.dst, prev.amount + 1, "conflict")
        else:
            op = _random_op(rng, codes, f"t{tid}-{i}")
        try:
            replayed = _transfer(conn, tenant, op)
        except psycopg.Error as exc:
            tally.record(op, exc.sqlstate or type(exc).__name__)
            continue
        tally.record(op, "ok" if not replayed else "replayed", replayed)
        if op.kind == "fresh":
            succeeded.append(op)


def _render(tally: Tally, threads: int) -> Table:
    table = Table(title=f"ledger.transfer race: {threads} connections", min_width=56)
    table.add_column("outcome")
    table.add_column("meaning")
    table.add_column("count", justify="right")
    with tally.lock:
        outcomes = dict(tally.outcomes)
        done = tally.done
    labels = {"ok": "applied", "replayed": "same key, same call",
              **EXPECTED_REJECTIONS, **errors.NEVER_SURFACES}  # fmt: skip
    for outcome, count in sorted(outcomes.items(), key=lambda kv: (kv[0] != "ok", kv[0])):
        style = "green" if outcome in ("ok", "replayed") else (
            "yellow" if outcome in EXPECTED_REJECTIONS else "bold red")  # fmt: skip
        table.add_row(f"[{style}]{outcome}[/]", labels.get(outcome, "unexpected"), str(count))
    table.caption = f"{done}/{tally.total_ops} calls"
    return table


def _setup(conn: psycopg.Connection[Any], tenant: str, codes: list[str]) -> None:
    conn.execute("SELECT * FROM ledger.open_account(%s, %s, %s, NULL, NULL)",
                 (tenant, SOURCE, CURRENCY))  # fmt: skip
    for code in codes:
        ceiling = CAPPED_MAX if code == codes[-1] else None
        conn.execute("SELECT * FROM ledger.open_account(%s, %s, %s, 0, %s)",
                     (tenant, code, CURRENCY, ceiling))  # fmt: skip
        conn.execute("SELECT * FROM ledger.transfer(%s, %s, %s, %s, %s)",
                     (tenant, f"fund-{code}", SOURCE, code, FUNDING))  # fmt: skip


def _kernel_present(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(
        "SELECT to_regnamespace('ledger') IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM pg_proc WHERE pronamespace = to_regnamespace('ledger') "
        "AND proname = 'transfer')"
    ).fetchone()
    return bool(row and row[0])


def main(
    dsn: str, threads: int = 8, ops: int = 150, accounts: int = 10, seed: int | None = None,
    incident_workers: int = 20,
) -> int:  # fmt: skip
    console = Console()
    console.print(f"[bold]migrate[/bold]: {migrate(dsn)}")
    seed = seed if seed is not None else secrets.randbelow(1_000_000)
    tenant = f"demo-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"
    codes = _codes(max(accounts, 2))

    with psycopg.connect(dsn, autocommit=True) as conn:
        if not _kernel_present(conn):
            console.print("[red]ledger.transfer is not deployed: migrations/ and sql/ "
                          "do not define the kernel yet[/red]")  # fmt: skip
            return 2
        _setup(conn, tenant, codes)
    console.print(f"tenant [cyan]{tenant}[/cyan]: {len(codes)} accounts funded with "
                  f"{FUNDING} from '{SOURCE}' (seed {seed})")  # fmt: skip

    tally = Tally(total_ops=threads * ops)
    with Together[None](dsn, threads) as race:
        started = time.monotonic()
        with Live(_render(tally, threads), console=console, refresh_per_second=8) as live:
            race.start(lambda conn, tid, _: _worker(conn, tenant, tid, ops, codes, seed, tally))
            while race.alive():
                live.update(_render(tally, threads))
                time.sleep(0.1)
            live.update(_render(tally, threads))
        failures = [r for r in race.join() if isinstance(r, BaseException)]
    console.line()  # a non-terminal Live leaves the cursor after its last line
    elapsed = time.monotonic() - started
    console.print(f"{tally.done} calls in {elapsed:.2f}s ({tally.done / elapsed:.0f}/s)")
    status = _check(dsn, tenant, codes, tally, failures, console)
    if incident_workers > 0:
        # Then every registered incident, unprotected and under pgbalance, in one table.
        from pgbalance.harness.incidents.report import run_incidents

        if not run_incidents(dsn, incident_workers, console):
            status = status or 1
    return status


def _check(
    dsn: str, tenant: str, codes: list[str], tally: Tally, failures: list[BaseException],
    console: Console,
) -> int:  # fmt: skip
    problems: list[str] = [f"worker died: {exc!r}" for exc in failures]
    problems += tally.surprises[:20]
    with psycopg.connect(dsn, autocommit=True) as conn:
        balances: dict[str, int] = {}
        for code in [SOURCE, *codes]:
            row = conn.execute(
                "SELECT balance FROM ledger.get_account(%s, %s)", (tenant, code)
            ).fetchone()
            balances[code] = int(row[0]) if row else 0
        cur = conn.execute("SELECT * FROM ledger.verify(%s)", (tenant,))
        violations = cur.fetchall()
        columns = [c.name for c in cur.description or []]

    expected = {code: FUNDING + tally.deltas[code] for code in codes}
    expected[SOURCE] = -FUNDING * len(codes)
    for code, want in expected.items():
        if balances[code] != want:
            problems.append(f"{code}: server balance {balances[code]}, client tally {want}")
    if sum(balances.values()) != 0:
        problems.append(f"tenant does not sum to zero: {sum(balances.values())}")

    summary = Table(title="after the race")
    summary.add_column("account")
    summary.add_column("balance", justify="right")
    summary.add_column("client tally", justify="right")
    for code in [SOURCE, *codes]:
        summary.add_row(code, str(balances[code]), str(expected[code]))
    summary.add_row("[bold]sum[/bold]", str(sum(balances.values())), "0")
    parts: list[Any] = [summary]
    if violations:
        parts.append(violations_table(f"ledger.verify: {len(violations)} violations",
                                      columns, violations))  # fmt: skip
        problems.append(f"ledger.verify reported {len(violations)} violations")
    console.print(Group(*parts))

    if problems:
        for p in problems:
            console.print(f"[bold red]FAIL[/bold red] {p}")
        return 1
    console.print("[bold green]ledger consistent[/bold green]: ledger.verify clean, "
                  "balances equal the client's tally, the tenant sums to zero")  # fmt: skip
    return 0
