"""`pgbalance migrate`: apply pending migrations and re-apply sql/."""

from __future__ import annotations

import argparse

from pgbalance.commands.base import dsn_of

NAME = "migrate"
HELP = "apply pending yoyo migrations, then re-apply every sql/ file in one transaction"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rollback-all", action="store_true",
        help="roll back every applied migration instead (destroys the kernel's data)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from pgbalance import migrate

    dsn = dsn_of(args)
    if args.rollback_all:
        done = migrate.rollback_all(dsn)
        print(f"{len(done)} migrations rolled back" + (f" ({', '.join(done)})" if done else ""))
        return 0
    print(migrate.migrate(dsn))
    return 0
