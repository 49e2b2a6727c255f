"""`pgbalance seal`: seal the ledger's history up to now (ledger.seal), for cron.

Prints one line per tenant sealed with its digest: keep those lines somewhere the database's
owner cannot rewrite (a log shipped elsewhere, a ticket), and check them later with
`pgbalance verify --tenant T --digest D` (ledger.verify_seal).
"""

from __future__ import annotations

import argparse

from pgbalance.commands.base import dsn_of

NAME = "seal"
HELP = "seal history up to now (ledger.seal) and print each tenant's digest, for cron"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tenant", default=None, help="one tenant only (default: all, one seal each)"
    )


def run(args: argparse.Namespace) -> int:
    import psycopg

    with psycopg.connect(dsn_of(args), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT tenant, seal_no, horizon, entries, postings, digest FROM ledger.seal(%s)",
            (args.tenant,),
        ).fetchall()
    for tenant, seal_no, horizon, entries, postings, digest in rows:
        print(
            f"tenant={tenant} seal={seal_no} horizon={horizon.isoformat()} "
            f"entries={entries} postings={postings} digest={digest}"
        )
    if not rows:
        print("nothing to seal (no accounts)")
    return 0
