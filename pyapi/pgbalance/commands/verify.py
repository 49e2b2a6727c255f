"""`pgbalance verify`: run ledger.verify() and show every violation.

After a seal, ledger.verify checks what came after it (and the chain's links); `--full`
re-checks everything, seal digests and checkpoints included (ledger.verify_full); `--digest`
checks a tenant's chain against a digest printed by `pgbalance seal` (ledger.verify_seal).
"""

from __future__ import annotations

import argparse
import sys

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
    parser.add_argument(
        "--full", action="store_true", help="re-check all history and every seal (verify_full)"
    )
    parser.add_argument(
        "--digest",
        default=None,
        help="check --tenant's seal chain against this digest (ledger.verify_seal)",
    )


def run(args: argparse.Namespace) -> int:
    import psycopg

    params: tuple[str | None, ...] = (args.tenant,)
    if args.digest is not None:
        if args.tenant is None:
            print("pgbalance verify: --digest needs --tenant", file=sys.stderr)
            return 2
        function, params = "ledger.verify_seal", (args.tenant, args.digest)
    elif args.full:
        function = "ledger.verify_full"
    else:
        function = "ledger.verify"
    placeholders = ", ".join(["%s"] * len(params))
    with psycopg.connect(dsn_of(args), autocommit=True) as conn:
        if not tenant_known(conn, NAME, args.tenant):
            return 1
        cur = conn.execute(f"SELECT * FROM {function}({placeholders})", params)
        columns = [c.name for c in cur.description or []]
        rows = cur.fetchall()
    console = table_console()
    if not rows:
        console.print(f"[green]ledger consistent[/green] ({tenant_scope(args.tenant)})")
        return 0
    console.print(violations_table(f"{function}: {len(rows)} violations", columns, rows))
    return 1
