"""What a subcommand module provides, and helpers every subcommand shares."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    import psycopg
    from rich.console import Console
    from rich.table import Table


class Command(Protocol):
    """A subcommand module: NAME, HELP, add_arguments(), run()."""

    NAME: str
    HELP: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def announce(args: argparse.Namespace, dsn: str) -> None:
    """Say on stderr which server and database the command works on (stdout stays data)."""
    from pgbalance.db import describe

    print(f"pgbalance {args.command}: {describe(dsn)}", file=sys.stderr)


def dsn_of(args: argparse.Namespace) -> str:
    """--dsn, or db.resolve_dsn() (resolved only now: it may start a throwaway cluster);
    announced on stderr."""
    from pgbalance.db import normalize_dsn, resolve_dsn

    dsn: str | None = getattr(args, "dsn", None)
    resolved = normalize_dsn(dsn) if dsn else resolve_dsn()
    announce(args, resolved)
    return resolved


def scratch_dsn(args: argparse.Namespace, name: str) -> str:
    """--dsn as given (the caller asked for that database), else database `name` recreated
    empty on the server resolve_dsn() would use: try-outs never write into the application's
    database unless told to."""
    from pgbalance import db

    dsn: str | None = getattr(args, "dsn", None)
    resolved = db.normalize_dsn(dsn) if dsn else db.fresh_database(db.resolve_server(), name)
    announce(args, resolved)
    return resolved


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def table_console() -> Console:
    """A console for tables: the terminal's width, or wide enough when piped that rows stay
    on one line (rich assumes 80 columns without a terminal and folds every cell)."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=240)
    return console


def violations_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """Rows of ledger.verify (or any check) as a red-titled table, every cell folded."""
    from rich.table import Table

    table = Table(title=title, title_style="bold red")
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


def tenant_known(conn: psycopg.Connection[Any], command: str, tenant: str | None) -> bool:
    """False (said on stderr) when --tenant names a tenant the kernel does not know
    (ledger.get_tenant: PB005): a typo in a cron job must not read as a clean run."""
    import psycopg

    if tenant is None:
        return True
    try:
        conn.execute("SELECT * FROM ledger.get_tenant(%s)", (tenant,))
    except psycopg.Error as exc:
        if exc.sqlstate != "PB005":
            raise
        print(f"pgbalance {command}: unknown tenant {tenant!r} (no account in it): "
              "nothing done", file=sys.stderr)  # fmt: skip
        return False
    return True


def tenant_scope(tenant: str | None) -> str:
    """What a run covered. Without --tenant the kernel narrows the call to the tenants the
    role may reach (all of them unless it is tenant-bound: ledger.grant_tenant)."""
    return f"tenant {tenant}" if tenant is not None else "every tenant this role may reach"
