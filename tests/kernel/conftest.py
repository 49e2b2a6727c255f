"""Kernel test fixtures.

Most kernel tests share one migrated database per session (per xdist worker) and isolate
themselves by tenant (the kernel's own isolation unit), which keeps the suite fast. Damage
done on purpose (corruption, dropped constraints, disabled guards) happens inside a
transaction that is rolled back; tests that act on every tenant use the per-test `db` from
tests/conftest.py.
Every test using `ledger` ends with ledger.verify() clean for its tenant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from tests.helpers.shared_db import connection_factory, shared_database
from tests.kernel.support import Ledger

kernel_dsn, kernel_conn = shared_database("kernel", "session")


@pytest.fixture
def ledger(kernel_conn: psycopg.Connection[Any], tenant: str) -> Iterator[Ledger]:
    """The kernel API for a fresh tenant in the shared kernel database; verify() must be
    clean for that tenant when the test ends."""
    book = Ledger(kernel_conn, tenant)
    yield book
    assert book.verify() == []


@pytest.fixture
def ab(ledger: Ledger) -> Ledger:
    """Accounts a (funded with 1000) and b, both EUR with a floor of 0."""
    ledger.open("a")
    ledger.open("b")
    ledger.fund("a", 1000)
    return ledger


@pytest.fixture
def kconnect(kernel_dsn: str) -> Iterator[Callable[..., psycopg.Connection[Any]]]:
    """Extra autocommit connections to the shared kernel database, closed at teardown."""
    with connection_factory(kernel_dsn) as factory:
        yield factory


@pytest.fixture
def own(db: psycopg.Connection[Any], tenant: str) -> Iterator[Ledger]:
    """The kernel API on the test's own database (for corruption and all-tenant calls)."""
    yield Ledger(db, tenant)
