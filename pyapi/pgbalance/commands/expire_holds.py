"""`pgbalance expire-holds`: void every pending hold past its expiry (ledger.expire_holds).

Meant for cron (or a systemd timer) when pg_cron is not available: it prints how many holds
it voided and exits 0, so a monitoring wrapper can log the number.
"""

from __future__ import annotations

import argparse

from pgbalance.commands.base import dsn_of

NAME = "expire-holds"
HELP = "void pending holds past their expires_at (ledger.expire_holds), for cron"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", default=None, help="one tenant only (default: all)")


def run(args: argparse.Namespace) -> int:
    import psycopg

    with psycopg.connect(dsn_of(args), autocommit=True) as conn:
        row = conn.execute("SELECT ledger.expire_holds(%s)", (args.tenant,)).fetchone()
    count = int(row[0]) if row else 0
    scope = f"tenant {args.tenant}" if args.tenant else "all tenants"
    print(f"{count} expired holds voided ({scope})")
    return 0
