"""Scaffolding shared by the step-by-step incident tests (tests/workflows/test_*_incident.py):
the scratch schema the unprotected pattern (pgbalance/harness/naive/) runs in, and the
pg_blocking_pids probe."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from pgbalance.harness import naive


@contextmanager
def naive_schema(
    dsn: str, stem: str, sql: Mapping[str, str], seed: Any, ddl: Iterable[str] = ("schema",)
) -> Iterator[str]:
    """A scratch schema (dropped on exit) holding the naive pattern's `ddl` blocks, seeded by
    its `seed` block with `seed` as parameters, as the incident sets it up; yields a DSN whose
    search_path puts it first."""
    with naive.scratch_schema(dsn, stem) as options:
        naive_dsn = make_conninfo(dsn, options=options)
        with psycopg.connect(naive_dsn, autocommit=True) as conn:
            naive.install(conn, sql, ddl, seed)
        yield naive_dsn


def blocked_by(conn: psycopg.Connection[Any], waiter: int, holder: int) -> bool:
    """Whether backend `waiter` is waiting on a lock held by backend `holder`."""
    row = conn.execute("SELECT %s = ANY (pg_blocking_pids(%s))", (holder, waiter)).fetchone()
    return bool(row and row[0])
