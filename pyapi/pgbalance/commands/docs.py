"""`pgbalance docs`: regenerate docs/schema.sql, docs/api.md and examples/*.out."""

from __future__ import annotations

import argparse
import sys

from pgbalance.commands.base import dsn_of

NAME = "docs"
HELP = (
    "regenerate docs/schema.sql, docs/api.md and examples/*.out from a fresh install "
    "(a scratch database on the server, dropped afterwards); --check only compares"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check", action="store_true",
        help="write nothing; exit 1 when a checked-in file is out of date",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from pgbalance import docgen, paths

    root = paths.checkout_root()
    if root is None:
        print("pgbalance docs: run from a checkout (docs/ and examples/ live there)",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        files = docgen.generate(dsn_of(args), root)
    except docgen.DocgenError as exc:
        print(f"pgbalance docs: {exc}", file=sys.stderr)
        return 2
    if args.check:
        stale = docgen.stale_files(files)
        for path in stale:
            print(f"out of date: {path.relative_to(root)}")
        if stale:
            print("run `make docs` and commit the result", file=sys.stderr)
            return 1
        print(f"{len(files)} generated files up to date")
        return 0
    changed = docgen.write_files(files)
    for path in changed:
        print(f"wrote {path.relative_to(root)}")
    print(f"{len(files)} generated files, {len(changed)} changed")
    return 0
