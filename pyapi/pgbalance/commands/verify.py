"""`pgbalance verify`: run ledger.verify() and show every violation."""

from __future__ import annotations

import argparse

from pgbalance.commands.base import dsn_of

NAME = "verify"
HELP = "check the ledger against its postings (ledger.verify); exit 1 on any violation"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", default=None, help="check one tenant only (default: all)")


def run(args: argparse.Namespace) -> int:
    import psycopg
    from rich.console import Console
    from rich.table import Table

    with psycopg.connect(dsn_of(args), autocommit=True) as conn:
        cur = conn.execute("SELECT * FROM ledger.verify(%s)", (args.tenant,))
        columns = [c.name for c in cur.description or []]
        rows = cur.fetchall()
    console = Console()
    if not rows:
        scope = f"tenant {args.tenant}" if args.tenant else "all tenants"
        console.print(f"[green]ledger consistent[/green] ({scope})")
        return 0
    table = Table(title=f"ledger.verify: {len(rows)} violations", title_style="bold red")
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
    return 1
