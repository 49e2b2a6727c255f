"""Test databases: one migrated template per session (per xdist worker), a fresh copy per test.

pytest-postgresql's postgresql_proc cannot start a server as root, so the noproc factory
points at whatever pgbalance.db.resolve_dsn() finds (DATABASE_URL, the local server or the
throwaway cluster). Its loader runs pgbalance.migrate.migrate once into the template database
(`pgbalance_t<pid><xdist worker>_tmpl`; pytest-postgresql appends the worker id itself);
`postgresql` clones it for every test and drops the clone afterwards, so every extra
connection a test opens must be closed by then.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pytest_postgresql import factories

from pgbalance import db as pgdb
from pgbalance.migrate import migrate
from tests.helpers.psql import install_bundle
from tests.helpers.server import (
    HOST,
    PASSWORD,
    PORT,
    PREFIX,
    USER,
    drop_orphans,
    maintenance_dsn,
    server_dsn,
)
from tests.helpers.shared_db import connection_factory

drop_orphans()  # databases left by killed runs of earlier sessions


def load_kernel(**kwargs: Any) -> None:
    """pytest-postgresql loader: migrate the template database (or, with
    PGBALANCE_TEST_INSTALL=bundle, install it with psql and the SQL bundle: tests/test_bundle.py
    runs kernel tests that way).

    Serialised across xdist workers: migrations create cluster-wide roles, and two workers
    creating the same role at once can fail in the catalog.
    """
    lock_path = Path(tempfile.gettempdir()) / f"pgbalance-test-migrate-{PORT}.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.environ.get("PGBALANCE_TEST_INSTALL") == "bundle":
            done = install_bundle(server_dsn(kwargs["dbname"]))
            assert done.returncode == 0, done.stderr
        else:
            migrate(server_dsn(kwargs["dbname"]))


postgresql_noproc = factories.postgresql_noproc(
    host=HOST, port=PORT, user=USER, password=PASSWORD,
    dbname=PREFIX, load=[load_kernel],
)  # fmt: skip
postgresql = factories.postgresql("postgresql_noproc")


@pytest.fixture
def db(postgresql: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """A connection to the test's own database (a fresh migrated copy), autocommit."""
    postgresql.autocommit = True
    return postgresql


@pytest.fixture
def dsn(postgresql: psycopg.Connection[Any]) -> str:
    """Conninfo of the test's database, for opening more connections."""
    return server_dsn(postgresql.info.dbname)


@pytest.fixture
def connect(dsn: str) -> Iterator[Callable[..., psycopg.Connection[Any]]]:
    """Factory for extra autocommit connections to the test's database, closed at teardown
    (before pytest-postgresql drops the database)."""
    with connection_factory(dsn) as factory:
        yield factory


@pytest.fixture
def tenant(request: pytest.FixtureRequest) -> str:
    """A tenant name no other test uses."""
    stem = "".join(c if c.isalnum() else "-" for c in request.node.name)[:40]
    return f"{stem}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def empty_dsn() -> Iterator[str]:
    """A brand-new database with nothing in it, dropped afterwards."""
    name = f"{PREFIX}_empty_{uuid.uuid4().hex[:8]}"
    dsn = pgdb.ensure_database(maintenance_dsn(), name)
    yield dsn
    pgdb.drop_database(maintenance_dsn(), name)
