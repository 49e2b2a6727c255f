"""Scaffolding shared by the step-by-step incident tests (tests/workflows/test_*_incident.py):
the check that a naive SQL file is the pattern the incident module runs, the scratch schema
the unprotected pattern runs in, and the pg_blocking_pids probe."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from pgbalance.incidents.race import scratch_schema


def assert_same_blocks(found: Mapping[str, str], expected: Mapping[str, str]) -> None:
    """The naive file holds the same blocks as the incident module, equal up to layout."""
    assert found.keys() == expected.keys()
    for name, sql in found.items():
        assert sql.split() == expected[name].split(), name


@contextmanager
def naive_schema(dsn: str, stem: str, naive: Mapping[str, str], seed: Any) -> Iterator[str]:
    """A scratch schema (dropped on exit) holding the naive pattern's `schema` block, seeded
    by its `seed` block with `seed` as parameters; yields a DSN whose search_path puts it
    first."""
    with scratch_schema(dsn, stem) as options:
        naive_dsn = make_conninfo(dsn, options=options)
        with psycopg.connect(naive_dsn, autocommit=True) as conn:
            conn.execute(naive["schema"])  # naive scratch schema, never pgbalance's
            conn.execute(naive["seed"], seed)
        yield naive_dsn


def blocked_by(conn: psycopg.Connection[Any], waiter: int, holder: int) -> bool:
    """Whether backend `waiter` is waiting on a lock held by backend `holder`."""
    row = conn.execute("SELECT %s = ANY (pg_blocking_pids(%s))", (holder, waiter)).fetchone()
    return bool(row and row[0])
