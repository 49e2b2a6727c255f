"""Kernel test fixtures.

Most kernel tests share one migrated database per session (per xdist worker) and isolate
themselves by tenant (the kernel's own isolation unit), which keeps the suite fast. Damage
done on purpose (corruption, dropped constraints, disabled guards) happens inside a
transaction that is rolled back; tests that act on every tenant use the per-test `db` from
tests/conftest.py.
Every test using `ledger` ends with ledger.verify() clean for its tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from tests.helpers.server import PREFIX
from tests.helpers.shared_db import autocommit_connection, cloned_database, connection_factory
from tests.kernel.support import Ledger


@pytest.fixture(scope="session")
def kernel_dsn(postgresql_noproc: Any) -> Iterator[str]:
    """A migrated database shared by the kernel tests (a clone of the session template)."""
    name = f"{PREFIX}_kernel_{uuid.uuid4().hex[:12]}"  # PREFIX: orphans get dropped
    with cloned_database(postgresql_noproc, name) as dsn:
        yield dsn


@pytest.fixture(scope="session")
def kernel_conn(kernel_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    with autocommit_connection(kernel_dsn) as conn:
        yield conn


@pytest.fixture
def ledger(kernel_conn: psycopg.Connection[Any], tenant: str) -> Iterator[Ledger]:
    """The kernel API for a fresh tenant in the shared kernel database; verify() must be
    clean for that tenant when the test ends."""
    book = Ledger(kernel_conn, tenant)
    yield book
    assert book.verify() == []


@pytest.fixture
def kconnect(kernel_dsn: str) -> Iterator[Callable[..., psycopg.Connection[Any]]]:
    """Extra autocommit connections to the shared kernel database, closed at teardown."""
    with connection_factory(kernel_dsn) as factory:
        yield factory


@pytest.fixture
def own(db: psycopg.Connection[Any], tenant: str) -> Iterator[Ledger]:
    """The kernel API on the test's own database (for corruption and all-tenant calls)."""
    yield Ledger(db, tenant)
