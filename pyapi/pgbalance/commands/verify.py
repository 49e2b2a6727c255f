"""`pgbalance verify`: run ledger.verify() and show every violation."""

from __future__ import annotations

import argparse
import sys

from pgbalance.commands.base import dsn_of, table_console, violations_table

NAME = "verify"
HELP = (
    "check the ledger against its postings (ledger.verify) as the owner or a pgbalance_auditor "
    "member; exit 1 on any violation or an unknown --tenant"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", default=None, help="check one tenant only (default: all)")


def run(args: argparse.Namespace) -> int:
    import psycopg

    with psycopg.connect(dsn_of(args), autocommit=True) as conn:
        if args.tenant is not None:
            # The kernel says whether the tenant exists (PB005 otherwise): a typo in a cron
            # job must not read as a consistent ledger.
            try:
                conn.execute("SELECT * FROM ledger.get_tenant(%s)", (args.tenant,))
            except psycopg.Error as exc:
                if exc.sqlstate != "PB005":
                    raise
                print(f"pgbalance verify: unknown tenant {args.tenant!r} (no account in it): "
                      "nothing checked", file=sys.stderr)  # fmt: skip
                return 1
        cur = conn.execute("SELECT * FROM ledger.verify(%s)", (args.tenant,))
        columns = [c.name for c in cur.description or []]
        rows = cur.fetchall()
    console = table_console()
    if not rows:
        scope = f"tenant {args.tenant}" if args.tenant else "all tenants"
        console.print(f"[green]ledger consistent[/green] ({scope})")
        return 0
    console.print(violations_table(f"ledger.verify: {len(rows)} violations", columns, rows))
    return 1
