"""`pgbalance migrate` on Citus: it distributes a database that already holds data, upgrades
a distributed install of an earlier release, and is a no-op when run again. Each test has a
database of its own on the session's cluster (created on every node, dropped afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgbalance import db as pgdb
from pgbalance.migrate import migrate
from tests.citus.cluster import CitusCluster
from tests.dba._support import ledger_rows, put_ledger_data, verify_rows
from tests.dba.test_upgrade import UPGRADE_FROM, materialize

SCHEMAS = ["ledger", "wallet", "booking", "fees", "tuition"]
KERNEL_FUNCTIONS = (
    "SELECT count(*) FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace"
    " WHERE n.nspname = ANY(%s)"
)


@pytest.fixture
def database(citus_cluster: CitusCluster) -> Iterator[str]:
    """The name of a database of the test's own, dropped on every node afterwards."""
    name = f"migrate_{uuid.uuid4().hex[:10]}"
    yield name
    citus_cluster.drop_database(name)


def distribution(dsn: str) -> tuple[int, int, int]:
    """(distributed tables, colocation groups, delegated functions) of the kernel."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM pg_dist_partition WHERE partmethod = 'h'"
            "         AND logicalrelid::text ~ '^(ledger|wallet|booking|fees|tuition)\\.'),"
            "       (SELECT count(DISTINCT colocationid) FROM pg_dist_partition"
            "         WHERE partmethod = 'h'),"
            "       (SELECT count(distribution_argument_index) FROM pg_dist_object"
            "         WHERE classid = 'pg_proc'::regclass)"
        ).fetchone()
    assert row is not None
    return (int(row[0]), int(row[1]), int(row[2]))


def functions_on(cluster: CitusCluster, name: str) -> list[int]:
    """How many kernel functions each node has."""
    counts = []
    for node in cluster.nodes:
        with psycopg.connect(pgdb.with_dbname(node.dsn, name)) as conn:
            row = conn.execute(KERNEL_FUNCTIONS, (SCHEMAS,)).fetchone()
            counts.append(int(row[0]) if row else 0)
    return counts


def test_existing_data_is_distributed_then_migrate_is_a_no_op(
    citus_cluster: CitusCluster, database: str, tenant: str
) -> None:
    # A plain install in use (the coordinator's database, before Citus) ...
    plain = pgdb.ensure_database(citus_cluster.coordinator.dsn, database)
    assert migrate(plain).applied
    with psycopg.connect(plain, autocommit=True) as conn:
        put_ledger_data(conn, tenant)
        before = ledger_rows(conn)
    # ... gets Citus and its workers, and migrate distributes it, rows and all.
    dsn = citus_cluster.create_database(database)
    report = migrate(dsn)
    assert report.applied == []
    delegated = distribution(dsn)
    assert delegated[:2] == (18, 1) and delegated[2] > 0
    counts = functions_on(citus_cluster, database)
    assert len(set(counts)) == 1, counts  # every worker has every function
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert ledger_rows(conn) == before
        assert verify_rows(conn) == []
        local = conn.execute(
            "SELECT count(*) FROM ledger.account WHERE tenant_id = %s", (tenant,)
        ).fetchone()
        assert local == (3,)
    # Again: nothing to apply, nothing to distribute, the catalog unchanged.
    again = migrate(dsn)
    assert (again.applied, again.catalog_changed) == ([], False)
    assert distribution(dsn) == delegated


def test_a_distributed_earlier_release_upgrades(
    citus_cluster: CitusCluster, database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first kernel release, installed and distributed, then this tree's migrations on
    distributed tables (ledger.posting is even rebuilt by 0006: the new table is distributed
    in its turn)."""
    dsn = citus_cluster.create_database(database)
    with monkeypatch.context() as m:
        m.setenv("PGBALANCE_HOME", str(materialize(UPGRADE_FROM, tmp_path / "old")))
        assert migrate(dsn).applied == ["0001_ledger"]
    assert distribution(dsn)[:2] == (3, 1)
    upgrade = migrate(dsn)
    assert "0001_ledger" not in upgrade.applied and upgrade.applied
    delegated = distribution(dsn)
    assert delegated[:2] == (18, 1)
    fresh: Any = None
    with psycopg.connect(dsn) as conn:
        fresh = conn.execute(KERNEL_FUNCTIONS, (SCHEMAS,)).fetchone()
    assert functions_on(citus_cluster, database) == [fresh[0]] * 3
    assert migrate(dsn).catalog_changed is False
