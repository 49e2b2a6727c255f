"""The `pgbalance` command: argparse with one module per subcommand.

A subcommand is a module exposing NAME, HELP, add_arguments(parser) and run(args) -> int
(see pgbalance.commands.base.Command). Adding one is one line in SUBCOMMANDS. Modules keep
heavy imports inside run() so `pgbalance --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import cast

import psycopg

from pgbalance.commands.base import Command
from pgbalance.db import DatabaseSetupError
from pgbalance.migrate import MigrationError

SUBCOMMANDS: tuple[str, ...] = (
    "pgbalance.commands.migrate",
    "pgbalance.commands.verify",
    "pgbalance.commands.run",
    "pgbalance.commands.docs",
    "pgbalance.commands.expire_holds",
    "pgbalance.commands.seal",
    "pgbalance.stress.cli",
    "pgbalance.bench",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pgbalance", description="pgbalance: deploy, check and exercise the balance kernel."
    )
    dsn_help = (
        "libpq DSN or URL (default: $DATABASE_URL, else the local server at 127.0.0.1:5432, "
        "else a throwaway cluster in .pgdata/)"
    )
    parser.add_argument("--dsn", default=None, help=dsn_help)
    # Also accepted after the subcommand; SUPPRESS keeps a top-level --dsn when absent there.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dsn", default=argparse.SUPPRESS, help=dsn_help)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in SUBCOMMANDS:
        command = cast(Command, importlib.import_module(module_name))
        sub_parser = sub.add_parser(
            command.NAME, help=command.HELP, description=command.HELP, parents=[common]
        )
        command.add_arguments(sub_parser)
        sub_parser.set_defaults(handler=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (DatabaseSetupError, MigrationError) as exc:
        print(f"pgbalance {args.command}: {exc}", file=sys.stderr)
        return 2
    except psycopg.Error as exc:
        print(f"pgbalance {args.command}: {exc.sqlstate or ''} {exc}".rstrip(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
