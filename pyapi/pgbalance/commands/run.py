"""`pgbalance run`: the live demo (migrate, then a race of transfers, then verify)."""

from __future__ import annotations

import argparse

from pgbalance.commands.base import non_negative_int, positive_int, scratch_dsn

NAME = "run"
HELP = ("in database pgbalance_demo, recreated empty (or --dsn's): migrate, race concurrent "
        "transfers in a fresh tenant and verify the ledger, then replay every incident "
        "unprotected and under pgbalance")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=positive_int, default=8, help="concurrent connections")
    parser.add_argument("--ops", type=positive_int, default=150, help="transfers per thread")
    parser.add_argument("--accounts", type=positive_int, default=10, help="accounts in the race")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--incident-workers", type=non_negative_int, default=20,
                        help="connections per incident replay (0: no incidents table)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from pgbalance import db
    from pgbalance.harness import demo

    return demo.main(
        scratch_dsn(args, db.DEMO_DATABASE), threads=args.threads, ops=args.ops,
        accounts=args.accounts, seed=args.seed, incident_workers=args.incident_workers,
    )  # fmt: skip
