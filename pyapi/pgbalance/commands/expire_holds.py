"""`pgbalance expire-holds`: void every pending hold past its expiry (ledger.expire_holds).

Meant for cron (or a systemd timer) when pg_cron is not available: it prints how many holds
it voided and exits 0, so a monitoring wrapper can log the number; exit 1 for an unknown
--tenant (like `pgbalance verify`).
"""

from __future__ import annotations

import argparse

from pgbalance.commands.base import dsn_of, tenant_known, tenant_scope

NAME = "expire-holds"
HELP = "void pending holds past their expires_at (ledger.expire_holds), for cron"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tenant", default=None, help="one tenant only (default: every tenant the role may reach)"
    )


def run(args: argparse.Namespace) -> int:
    import psycopg

    with psycopg.connect(dsn_of(args), autocommit=True) as conn:
        if not tenant_known(conn, NAME, args.tenant):
            return 1
        row = conn.execute("SELECT ledger.expire_holds(%s)", (args.tenant,)).fetchone()
    count = int(row[0]) if row else 0
    print(f"{count} expired holds voided ({tenant_scope(args.tenant)})")
    return 0
