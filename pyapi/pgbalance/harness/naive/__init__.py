"""The unprotected ("naive") patterns: one SQL file per workflow, in named blocks
(`-- name: <block>` starts one). The incident replays (pgbalance.incidents), the harness's
--naive scenarios (pgbalance.stress.naive) and the step-by-step incident tests all run
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
def scratch_schema(dsn: str, stem: str) -> Iterator[str]:
    """A fresh schema named naive_<stem>_<random> for an unprotected pattern, dropped after.
    Yields the libpq `options` string that puts it first on the search_path."""
    name = f"naive_{stem}_{secrets.token_hex(4)}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")  # naive scratch schema, never pgbalance's
    try:
        yield f"-c search_path={name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")  # the naive scratch schema
