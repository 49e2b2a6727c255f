"""`pgbalance bundle`: this release as one SQL file, for psql (no Python on the server)."""

from __future__ import annotations

import argparse
import sys

NAME = "bundle"
HELP = (
    "print this release as one SQL file that installs and upgrades with psql alone: "
    "`pgbalance bundle > pgbalance-X.Y.Z.sql; psql -X -d DB -f pgbalance-X.Y.Z.sql`"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output", "-o", metavar="PATH", default=None, help="write to PATH instead of stdout"
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pgbalance import bundle

    text = bundle.render()
    if args.output is None:
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"pgbalance bundle: wrote {args.output}", file=sys.stderr)
    return 0
