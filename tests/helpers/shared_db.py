"""Databases shared by many tests (tests then isolate themselves by tenant), and the
autocommit connections the fixtures hand out.

Used by tests/conftest.py (`connect`), tests/kernel/conftest.py (one database per session)
and tests/workflows/*_support.py (one database per test module), through shared_database.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from pytest_postgresql.janitor import DatabaseJanitor

from tests.helpers.server import PREFIX, server_dsn


@contextmanager
def cloned_database(postgresql_noproc: Any, name: str) -> Iterator[str]:
    """A migrated database `name` (a clone of the session template), dropped on exit; yields
    its DSN. Every connection to it must be closed by then."""
    janitor = DatabaseJanitor(
        user=postgresql_noproc.user,
        host=postgresql_noproc.host,
        port=postgresql_noproc.port,
        password=postgresql_noproc.password,
        dbname=name,
        template_dbname=postgresql_noproc.template_dbname,
        maintenance_dbname=postgresql_noproc.maintenance_dbname,
    )
    with janitor:
        yield server_dsn(name)


@contextmanager
def autocommit_connection(dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """One autocommit connection to `dsn`, closed on exit."""
    conn = psycopg.connect(dsn, autocommit=True)
    yield conn
    conn.close()


@contextmanager
def connection_factory(dsn: str) -> Iterator[Callable[..., psycopg.Connection[Any]]]:
    """A factory for extra connections to `dsn` (autocommit unless told otherwise); all of
    them are closed on exit."""
    opened: list[psycopg.Connection[Any]] = []

    def _connect(**kwargs: Any) -> psycopg.Connection[Any]:
        kwargs.setdefault("autocommit", True)
        conn = psycopg.connect(dsn, **kwargs)
        opened.append(conn)
        return conn

    yield _connect
    for conn in opened:
        conn.close()


def shared_database(label: str, scope: Any) -> tuple[Any, Any]:
    """The fixtures `<label>_dsn` (a migrated database shared for `scope`, a clone of the
    session template named with PREFIX so a killed run's leftovers get dropped) and
    `<label>_conn` (one autocommit connection to it). Assign both at module level where the
    tests import them: `wb_dsn, wb_conn = shared_database("wb", "module")`."""

    @pytest.fixture(scope=scope, name=f"{label}_dsn")
    def dsn(postgresql_noproc: Any) -> Iterator[str]:
        with cloned_database(postgresql_noproc, f"{PREFIX}_{label}_{uuid.uuid4().hex[:12]}") as d:
            yield d

    @pytest.fixture(scope=scope, name=f"{label}_conn")
    def conn(request: pytest.FixtureRequest) -> Iterator[psycopg.Connection[Any]]:
        with autocommit_connection(request.getfixturevalue(f"{label}_dsn")) as c:
            yield c

    return dsn, conn
