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

from pgbalance import __version__
from pgbalance.commands.base import Command
from pgbalance.db import DatabaseSetupError
from pgbalance.migrate import MigrationError

SUBCOMMANDS: tuple[str, ...] = (
    "pgbalance.commands.migrate",
    "pgbalance.commands.bundle",
    "pgbalance.commands.server",
    "pgbalance.commands.verify",
    "pgbalance.commands.run",
    "pgbalance.commands.docs",
    "pgbalance.commands.expire_holds",
    "pgbalance.commands.listen",
    "pgbalance.commands.seal",
    "pgbalance.commands.stress",
    "pgbalance.commands.bench",
)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows `(default: X)` for options that have a real default and do not say it already."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        return super()._get_help_string(action) or text


# Errors whose cause is a database pgbalance was never installed into (or an older release).
_UNMIGRATED = {"3F000", "42P01", "42883"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pgbalance", formatter_class=_HelpFormatter,
        description="pgbalance: deploy, check and exercise the balance kernel.",
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"pgbalance {__version__}")
    dsn_help = (
        "libpq DSN or URL, postgresql+psycopg:// accepted (default: $DATABASE_URL, else the "
        "local server at 127.0.0.1:5432, else a throwaway cluster: `pgbalance server`)"
    )
    parser.add_argument("--dsn", default=None, help=dsn_help)
    # Also accepted after the subcommand; SUPPRESS keeps a top-level --dsn when absent there.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dsn", default=argparse.SUPPRESS, help=dsn_help)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in SUBCOMMANDS:
        command = cast(Command, importlib.import_module(module_name))
        sub_parser = sub.add_parser(
            command.NAME, help=command.HELP, description=command.HELP, parents=[common],
            formatter_class=_HelpFormatter,
        )  # fmt: skip
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
        hint = _hint(args.command, exc.sqlstate)
        if hint:
            print(f"pgbalance {args.command}: {hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _hint(command: str, sqlstate: str | None) -> str | None:
    if sqlstate in _UNMIGRATED:
        return ("this database has no pgbalance (or an older release): run `pgbalance migrate` "
                "with the same --dsn")  # fmt: skip
    if sqlstate == "42501" and command == "verify":
        return ("ledger.verify reads every tenant: run it as the owner or as a member of "
                "pgbalance_auditor (GRANT pgbalance_auditor TO <role>), not as pgbalance_app")
    return None


if __name__ == "__main__":
    raise SystemExit(main())
