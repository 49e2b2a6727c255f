"""`pgbalance migrate`: install or upgrade (or go back to an earlier release, or remove)."""

from __future__ import annotations

import argparse
import sys

from pgbalance.commands.base import dsn_of

NAME = "migrate"
HELP = (
    "install or upgrade: check the database, apply pending yoyo migrations, re-apply every "
    "sql/ file in one transaction and record the release (ledger.version())"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pgbalance.release import known_versions

    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--to", metavar="VERSION", default=None,
        help="install that release instead: an earlier one rolls back the newer migrations "
             "(and their data) and replaces the functions by its own; one of: "
             + ", ".join(known_versions()),
    )  # fmt: skip
    what.add_argument(
        "--rollback-all", action="store_true",
        help="roll back every applied migration instead: deletes pgbalance and ALL its data "
             "(needs --yes)",
    )  # fmt: skip
    parser.add_argument(
        "--yes", action="store_true",
        help="confirm --rollback-all (and --to an earlier release, which drops newer tables)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from pgbalance import __version__, migrate, release

    if args.rollback_all and not args.yes:
        print("pgbalance migrate: --rollback-all deletes every pgbalance table and all their "
              "data; add --yes to confirm", file=sys.stderr)  # fmt: skip
        return 2
    earlier = args.to is not None and args.to != __version__
    if earlier and not args.yes and args.to in release.known_versions():
        print(f"pgbalance migrate: going back to {args.to} rolls back the migrations made "
              "after it, and the data in what they created; add --yes to confirm",
              file=sys.stderr)  # fmt: skip
        return 2
    dsn = dsn_of(args)
    if args.rollback_all:
        done = migrate.rollback_all(dsn)
        print(f"{len(done)} migrations rolled back" + (f" ({', '.join(done)})" if done else ""))
        return 0
    if args.to is not None:
        print(release.migrate_to(dsn, args.to))
        return 0
    print(f"{migrate.migrate(dsn)}; release {__version__}")
    return 0
