"""`pgbalance listen`: stream a tenant's change feed (ledger.changes) to stdout as JSON lines.

One line per change: {"cursor", "entry_id", "status", "changed_at"}. A consumer stores the
cursor of the last line it has processed and restarts with --from that cursor after a crash
(docs/changes.md). Between reads it waits --interval seconds, or less when a NOTIFY arrives
on the channel `pgbalance_changes` (sent by whoever wants to wake listeners early; pgbalance
sends none itself, so the write path pays nothing). A missed notification only delays a line:
every wait ends with a read.
"""

from __future__ import annotations

import argparse

from pgbalance.commands.base import dsn_of

NAME = "listen"
HELP = "stream a tenant's change feed (ledger.changes) as JSON lines"
CHANNEL = "pgbalance_changes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", required=True, help="the tenant whose changes to stream")
    parser.add_argument(
        "--from", dest="after", default=None, metavar="CURSOR",
        help="resume after this cursor (default: from the first change)",
    )  # fmt: skip
    parser.add_argument("--limit", type=int, default=100, help="rows per read (1..1000)")
    parser.add_argument(
        "--interval", type=float, default=1.0, help="seconds between reads when idle (default 1)"
    )
    parser.add_argument(
        "--once", action="store_true", help="exit once caught up instead of waiting for more"
    )


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    import psycopg

    after: str | None = args.after
    with psycopg.connect(dsn_of(args), autocommit=True) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        while True:
            rows = conn.execute(
                "SELECT cursor, entry_id, status, changed_at"
                " FROM ledger.changes(%s, %s, %s::integer)",
                (args.tenant, after, args.limit),
            ).fetchall()
            for cursor, entry_id, status, changed_at in rows:
                line = {"cursor": cursor, "entry_id": entry_id, "status": status,
                        "changed_at": changed_at.isoformat()}  # fmt: skip
                sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()
            if rows:
                after = rows[-1][0]
                continue
            if args.once:
                return 0
            for _ in conn.notifies(timeout=args.interval, stop_after=1):
                pass
