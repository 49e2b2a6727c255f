"""`pgbalance bench --instructions`: what one call costs the server, in instructions.

Timings on a shared or virtual machine move by 10-40% from run to run; the number of
instructions a call executes does not. A throwaway cluster of its own (initdb in a temporary
directory; as root the server runs as the postgres OS user) gets the bench's database: the
kernel migrated, pgbench's tables, 10,000 funded accounts and the striped revenue account
(``pgbalance.harness.bench``). Each kind of call then runs in a single-user ``postgres`` (no
client protocol, no background processes, each statement its own transaction,
``synchronous_commit = off``), prepared once and executed per call as the throughput bench's
clients run them, under valgrind's callgrind, N calls and BASE calls, each on a
fresh copy of that database; (instructions(N) - instructions(BASE)) / (N - BASE) is one call,
with start-up, cache loading and PL/pgSQL's first custom plans cancelled out. The callgrind
files stay in --keep DIR for ``callgrind_annotate --inclusive=yes``. docs/performance.md,
"Instructions, not seconds".
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from pgbalance.harness import bench

if TYPE_CHECKING:
    import argparse

    from pgbalance.db import EmbeddedCluster

# PL/pgSQL plans a statement afresh for its first five runs and decides on its generic plan
# at the sixth: the base runs cover those, so the difference holds only the steady state.
BASE_CALLS = 8
DEFAULT_CALLS = 200
SCALE = 8  # pgbench's scale, as the bench sets it up for 8 clients
KINDS: dict[str, str] = {
    "uniform": "ledger.transfer between two random accounts of 10,000",
    "hot": "ledger.transfer into the striped revenue account",
    "batch": f"ledger.transfer_batch of {bench.BATCH_SIZE}, per transfer",
    "tpcb": "pgbench's TPC-B-like transaction (BEGIN, 5 statements, END)",
}


class InstructionsError(RuntimeError):
    """valgrind or the server is missing, or a call failed."""


@dataclass(frozen=True)
class Count:
    kind: str
    what: str
    calls: int  # calls in the large run (the base run has BASE_CALLS)
    per_call: int  # instructions
    per_transfer: int  # per call, divided by the transfers one call makes


# Each kind's statements prepared once, as the throughput bench's clients (pgbench -M prepared)
# run them: a call then costs what it costs a driver, without parsing and planning its text.
_PREPARE: dict[str, list[str]] = {
    "transfer": ["PREPARE transfer(text, text, text, text, bigint) AS"
                 " SELECT entry_id FROM ledger.transfer($1, $2, $3, $4, $5);"],
    "batch": ["PREPARE batch(text, jsonb) AS"
              " SELECT count(*) FROM ledger.transfer_batch($1, $2) WHERE error_code IS NULL;"],
    "tpcb": [  # pgbench's built-in tpcb-like script, its parameters typed as the server infers
        "PREPARE upd_account(integer, integer) AS"
        " UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;",
        "PREPARE get_account(integer) AS SELECT abalance FROM pgbench_accounts WHERE aid = $1;",
        "PREPARE upd_teller(integer, integer) AS"
        " UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2;",
        "PREPARE upd_branch(integer, integer) AS"
        " UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2;",
        "PREPARE add_history(integer, integer, integer, integer) AS"
        " INSERT INTO pgbench_history (tid, bid, aid, delta, mtime)"
        " VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP);",
    ],
}


def _statements(kind: str, calls: int) -> Iterator[str]:
    """``calls`` calls of one kind, one statement per line (single-user mode reads lines),
    after the kind's PREPAREs. One seed per kind: the large run starts with the base run's
    calls, so the difference is exactly the calls after them."""
    rng = random.Random(kind)
    accounts = bench.ACCOUNTS

    def pair() -> tuple[int, int, int]:  # the throughput bench's draw (bench._PICK)
        a = rng.randint(1, accounts)
        b = rng.randint(1, accounts - 1)
        return a, b, (a + b - 1) % accounts + 1

    def key() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128)))

    yield from _PREPARE["transfer" if kind in ("uniform", "hot") else kind]
    for _ in range(calls):
        if kind in ("uniform", "hot"):
            a, b, c = pair()
            to = f"acct{c}" if kind == "uniform" else "revenue"
            amount = 1 + b % 100
            yield f"EXECUTE transfer('{bench.TENANT}', '{key()}', 'acct{a}', '{to}', {amount});"
        elif kind == "batch":
            items = []
            for _ in range(bench.BATCH_SIZE):
                a, b, c = pair()
                items.append({"key": key(), "from": f"acct{a}", "to": f"acct{c}",
                              "amount": 1 + b % 100})  # fmt: skip
            yield f"EXECUTE batch('{bench.TENANT}', '{json.dumps(items)}');"
        else:  # tpcb: pgbench -i -s S makes S branches
            aid = rng.randint(1, 100_000 * SCALE)
            tid, bid = rng.randint(1, 10 * SCALE), rng.randint(1, SCALE)
            delta = rng.randint(-5000, 5000)
            yield "BEGIN;"
            yield f"EXECUTE upd_account({delta}, {aid});"
            yield f"EXECUTE get_account({aid});"
            yield f"EXECUTE upd_teller({delta}, {tid});"
            yield f"EXECUTE upd_branch({delta}, {bid});"
            yield f"EXECUTE add_history({tid}, {bid}, {aid}, {delta});"
            yield "END;"


_TOTAL = re.compile(r"^(?:summary|totals): (\d+)", re.MULTILINE)


def _callgrind(cluster: EmbeddedCluster, database: str, script: Path, out: Path) -> int:
    """Run the script in a single-user postgres under callgrind; its instruction count."""
    cmd = cluster.server_command(
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
        str(cluster.bindir / "postgres"), "--single", "-D", str(cluster.datadir),
        "-c", "synchronous_commit=off", "-c", "exit_on_error=on", database,
    )  # fmt: skip
    with script.open("rb") as stdin:
        done = subprocess.run(cmd, stdin=stdin, capture_output=True, check=False)
    # A single-user backend reports errors on stderr; exit_on_error makes the first one end
    # it with a non-zero status instead of the run going on with a cheaper failed call.
    errors = [line for line in done.stderr.decode(errors="replace").splitlines()
              if "ERROR" in line or "FATAL" in line]  # fmt: skip
    if done.returncode != 0 or errors:
        raise InstructionsError(f"{script.name} failed under callgrind ({done.returncode}): "
                                f"{errors[:3] or done.stderr.decode(errors='replace')[-500:]}")
    found = _TOTAL.search(out.read_text(errors="replace"))
    if found is None:
        raise InstructionsError(f"no instruction total in {out}")
    return int(found.group(1))


def _count_on_copy(cluster: EmbeddedCluster, template: str, copy: str, script: Path,
                   out: Path) -> int:  # fmt: skip
    """The script's instructions on a fresh copy of the template, in single-user mode (the
    cluster stopped meanwhile); the copy is dropped afterwards."""
    from pgbalance import db

    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(copy), sql.Identifier(template)))  # fmt: skip
    cluster.stop()  # single-user mode needs the data directory to itself
    try:
        return _callgrind(cluster, copy, script, out)
    finally:
        cluster.start()
        # cluster.dsn read again: when another server took the port while this one was
        # stopped, it came back on another, and a DSN from before would miss it.
        db.drop_database(cluster.dsn, copy)


def count_instructions(
    calls: int = DEFAULT_CALLS,
    keep: Path | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
) -> list[Count]:
    """Instructions per call of every kind, in a throwaway cluster (see the module doc)."""
    from pgbalance import db
    from pgbalance.migrate import migrate

    if calls <= BASE_CALLS:
        raise InstructionsError(f"--calls must be more than {BASE_CALLS}")
    if shutil.which("valgrind") is None:
        raise InstructionsError("valgrind is not installed (apt-get install valgrind)")
    if keep is not None:
        try:
            keep.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InstructionsError(f"--keep {keep}: {exc}") from exc
    root = Path(tempfile.mkdtemp(prefix="pgbalance-instructions-"))
    cluster = db.EmbeddedCluster(root=root)
    try:
        progress(f"throwaway cluster in {root}: the bench's database")
        cluster.start()
        template = "instructions"
        dsn = db.ensure_database(cluster.dsn, template)
        migrate(dsn)
        bench._setup(dsn, bench.Pgbench(dsn), clients=SCALE)
        results: list[Count] = []
        for kind, what in KINDS.items():
            # A batch call is a hundred transfers: fewer calls make the same precision.
            large = calls if kind != "batch" else max(BASE_CALLS + 2, calls // 8)
            totals = []
            for n in (BASE_CALLS, large):
                progress(f"{kind}: {n} calls under callgrind")
                script = root / f"{kind}-{n}.sql"
                script.write_text("\n".join(_statements(kind, n)) + "\n", encoding="utf-8")
                out = root / f"callgrind.{kind}.{n}.out"
                totals.append(_count_on_copy(cluster, template, f"run_{kind}_{n}", script, out))
                if keep is not None:
                    shutil.copy(out, keep / out.name)
            per_call = (totals[1] - totals[0]) // (large - BASE_CALLS)
            per_transfer = per_call // (bench.BATCH_SIZE if kind == "batch" else 1)
            results.append(Count(kind, what, large, per_call, per_transfer))
        return results
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--instructions", action="store_true",
                        help="instead: server instructions per call under valgrind's callgrind,"
                             " in a throwaway cluster of its own (needs valgrind)")  # fmt: skip
    parser.add_argument("--calls", type=int, default=DEFAULT_CALLS,
                        help=f"with --instructions: calls per kind (default {DEFAULT_CALLS};"
                             " batch runs an eighth of them)")  # fmt: skip
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="with --instructions: keep the callgrind files in DIR")


def run(args: argparse.Namespace) -> int:
    """The --instructions mode of `pgbalance bench`: a table, and JSON with --json."""
    try:
        counts = count_instructions(args.calls, args.keep,
                                    progress=lambda msg: print(f"... {msg}", file=sys.stderr))
    except (InstructionsError, bench.BenchError) as exc:
        print(f"pgbalance bench --instructions: {exc}", file=sys.stderr)
        return 2
    tpcb = next(c.per_call for c in counts if c.kind == "tpcb")
    print(f"{'call':<62} {'k instructions':>15} {'vs TPC-B':>9}")
    for c in counts:
        print(f"{c.what:<62} {c.per_transfer / 1000:>15,.0f} {c.per_transfer / tpcb:>8.2f}x")
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(c) for c in counts], indent=2) + "\n",
                             encoding="utf-8")  # fmt: skip
    return 0
