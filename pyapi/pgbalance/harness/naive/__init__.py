"""The unprotected ("naive") patterns: one SQL file per workflow, in named blocks
(`-- name: <block>` starts one). The incident replays (pgbalance.harness.incidents), the harness's
--naive scenarios (pgbalance.harness.stress.naive) and the step-by-step incident tests all run
these blocks, so the pattern each shows is the same SQL.

Blocks take named parameters (`%(user)s`); `schema` (and any block an incident adds to it)
holds several DDL statements and takes none. Every block runs in a scratch schema of its
own, put first on the search_path; nothing here names a pgbalance table.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

WORKFLOWS = ("wallet", "booking", "fees", "tuition", "transfers")

_HEADER = re.compile(r"^--\s*name:\s*(\w+)\s*$")


def parse(text: str) -> dict[str, str]:
    """The named blocks of a naive SQL file; comment lines and the preamble dropped."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            current = blocks.setdefault(header.group(1), [])
        elif current is not None and not line.lstrip().startswith("--"):
            current.append(line)
    return {name: "\n".join(lines).strip() for name, lines in blocks.items()}


@cache
def blocks(workflow: str) -> Mapping[str, str]:
    """The blocks of <workflow>.sql (read once)."""
    if workflow not in WORKFLOWS:
        raise ValueError(f"no naive pattern for {workflow!r}")
    text = files(__name__).joinpath(f"{workflow}.sql").read_text(encoding="utf-8")
    return MappingProxyType(parse(text))


def install(
    conn: psycopg.Connection[Any],
    sql: Mapping[str, str],
    ddl: Iterable[str] = ("schema",),
    seed: Mapping[str, Any] | None = None,
) -> None:
    """Create a pattern's tables in the connection's first search_path schema: the `ddl`
    blocks in order, then its `seed` block with `seed` as parameters (when given)."""
    for name in ddl:
        conn.execute(sql[name])  # naive scratch schema: several statements, no parameters
    if seed is not None:
        conn.execute(sql["seed"], seed)  # naive seed rows


@contextmanager
def installed(
    dsn: str, stem: str, sql: Mapping[str, str], seed: Mapping[str, Any], ddl: Iterable[str]
) -> Iterator[str]:
    """A fresh schema naive_<stem>_<random> holding the pattern (its `ddl` blocks, seeded by
    `seed`), dropped on exit; yields a DSN whose search_path puts it first."""
    name = f"naive_{stem}_{secrets.token_hex(4)}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")  # naive scratch schema, never pgbalance's
    try:
        naive_dsn = make_conninfo(dsn, options=f"-c search_path={name}")
        with psycopg.connect(naive_dsn, autocommit=True) as conn:
            install(conn, sql, ddl, seed)
        yield naive_dsn
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")  # the naive scratch schema
