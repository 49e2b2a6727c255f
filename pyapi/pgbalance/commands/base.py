"""What a subcommand module provides, and helpers every subcommand shares."""

from __future__ import annotations

import argparse
from typing import Protocol


class Command(Protocol):
    """A subcommand module: NAME, HELP, add_arguments(), run()."""

    NAME: str
    HELP: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def dsn_of(args: argparse.Namespace) -> str:
    """--dsn, or db.resolve_dsn() (resolved only now: it may start a throwaway cluster)."""
    from pgbalance.db import resolve_dsn

    dsn: str | None = getattr(args, "dsn", None)
    return dsn or resolve_dsn()
