"""`pgbalance verify`: run ledger.verify() and show every violation."""

from __future__ import annotations

import argparse

from pgbalance.commands.base import (
    dsn_of,
    table_console,
    tenant_known,
    tenant_scope,
    violations_table,
)

NAME = "verify"
HELP = (
    "check the ledger against its postings (ledger.verify) as the owner or a pgbalance_auditor "
    "member; exit 1 on any violation or an unknown --tenant"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tenant", default=None,
        help="check one tenant only (default: every tenant the role may reach)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import psycopg

    with psycopg.connect(dsn_of(args), autocommit=True) as conn:
        if not tenant_known(conn, NAME, args.tenant):
            return 1
        cur = conn.execute("SELECT * FROM ledger.verify(%s)", (args.tenant,))
        columns = [c.name for c in cur.description or []]
        rows = cur.fetchall()
    console = table_console()
    if not rows:
        console.print(f"[green]ledger consistent[/green] ({tenant_scope(args.tenant)})")
        return 0
    console.print(violations_table(f"ledger.verify: {len(rows)} violations", columns, rows))
    return 1
