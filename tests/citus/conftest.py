"""pgbalance on a real Citus cluster: a coordinator and two workers of the session's own
(tests/citus/cluster.py), one database migrated once with `pgbalance migrate` (which
distributes it), shared by every test; tests isolate themselves by tenant. Per-test databases
cannot be cloned from a template on Citus (the maintenance daemon holds the template, and a
copy would exist on the coordinator only).

Under xdist, each worker that runs some of these tests starts a cluster of its own (about 15 s
each; xdist 3.8's `xdist_group` has no effect under pytest 9, so they cannot be pinned to one
worker). PGBALANCE_CITUS_DSN points them at an existing, already migrated coordinator instead.
Without Citus built for the local PostgreSQL they are skipped, saying so.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from pgbalance.migrate import migrate
from tests.citus.cluster import CitusCluster, citus_missing
from tests.helpers.shared_db import autocommit_connection, connection_factory
from tests.kernel.support import Ledger

# The engine files (sql/10_ledger/010_apply_postings, 013_guard_account_update, 040-045, 090)
# are rewritten for Citus on another branch; until that lands every money movement fails on
# the cluster (docs/scaling.md, "Limits"). Set to False once it has: the tests marked
# `needs_engine` must then pass (strict).
ENGINE_PENDING = False
needs_engine = pytest.mark.xfail(
    ENGINE_PENDING, strict=True, raises=psycopg.Error,
    reason="engine files not yet Citus-ready: force_generic_plan, whole-row reads, transition "
    "table read next to distributed tables",
)  # fmt: skip


@pytest.fixture(scope="session")
def citus_cluster() -> Iterator[CitusCluster]:
    reason = citus_missing()
    if reason:
        pytest.skip(reason)
    cluster = CitusCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(scope="session")
def citus_dsn(request: pytest.FixtureRequest) -> str:
    """The coordinator's DSN of the shared, migrated and distributed database."""
    given = os.environ.get("PGBALANCE_CITUS_DSN")
    if given:
        return given
    cluster: CitusCluster = request.getfixturevalue("citus_cluster")
    dsn = cluster.create_database("pgbalance")
    migrate(dsn)
    return dsn


@pytest.fixture(scope="session")
def citus_conn(citus_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    with autocommit_connection(citus_dsn) as conn:
        yield conn


@pytest.fixture
def cconnect(citus_dsn: str) -> Iterator[Callable[..., psycopg.Connection[Any]]]:
    """Extra autocommit connections to the coordinator, closed at teardown."""
    with connection_factory(citus_dsn) as factory:
        yield factory


@pytest.fixture
def ledger(citus_conn: psycopg.Connection[Any], tenant: str) -> Iterator[Ledger]:
    """The kernel API for a fresh tenant on the coordinator; verify() clean at the end."""
    book = Ledger(citus_conn, tenant)
    yield book
    assert book.verify() == []
