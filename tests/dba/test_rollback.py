"""Every migration has a working rollback: applied one by one and rolled back one by one,
each rollback returns the schema to exactly what it was before its migration; and the whole
install (with data in it) rolls back to an empty database and applies again identically."""

from __future__ import annotations

from typing import Any

import psycopg
from yoyo import get_backend, read_migrations

from pgbalance import paths
from pgbalance.migrate import migrate, rollback_all, yoyo_url
from tests.dba._support import database_dump, put_ledger_data, verify_rows


def test_every_migration_has_a_rollback_file() -> None:
    directory = paths.migrations_dir()
    forward = [p for p in directory.glob("*.sql") if not p.name.endswith(".rollback.sql")]
    assert forward
    missing = [p.name for p in sorted(forward)
               if not p.with_name(p.name.removesuffix(".sql") + ".rollback.sql").is_file()]
    assert not missing, f"migrations without a NNNN_name.rollback.sql: {missing}"


def test_each_rollback_restores_the_schema_before_its_migration(empty_dsn: str) -> None:
    migrations = read_migrations(str(paths.migrations_dir()))
    before: list[tuple[str, str]] = []  # (migration id, dump before applying it)
    backend = get_backend(yoyo_url(empty_dsn))
    try:
        with backend.lock():
            for migration in backend.to_apply(migrations):
                before.append((migration.id, database_dump(empty_dsn)))
                backend.apply_one(migration)
            assert before, "no migrations found"
            by_id = {m.id: m for m in migrations}
            for migration_id, expected in reversed(before):
                backend.rollback_one(by_id[migration_id])
                assert database_dump(empty_dsn) == expected, (
                    f"rolling back {migration_id} does not restore the schema it started from"
                )
    finally:
        backend.connection.close()


def test_rollback_all_with_data_then_apply_again(empty_dsn: str, tenant: str) -> None:
    empty = database_dump(empty_dsn)
    first = migrate(empty_dsn)
    installed = database_dump(empty_dsn)
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        put_ledger_data(conn, tenant)
        assert verify_rows(conn) == []

    rolled_back = rollback_all(empty_dsn)
    assert rolled_back == list(reversed(first.applied))
    assert database_dump(empty_dsn) == empty, "rollback_all left pgbalance objects behind"

    again = migrate(empty_dsn)
    assert again.applied == first.applied
    assert database_dump(empty_dsn) == installed
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        counts: Any = conn.execute("SELECT count(*) FROM ledger.account").fetchone()
        assert counts == (0,)
        put_ledger_data(conn, tenant)
        assert verify_rows(conn) == []


def test_dump_comparison_sees_a_leftover(empty_dsn: str) -> None:
    """The comparison the rollback tests rely on is not blind: a stray object shows."""
    empty = database_dump(empty_dsn)
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA wallet")
        conn.execute("CREATE TABLE wallet.leftover (tenant_id text PRIMARY KEY)")
    assert database_dump(empty_dsn) != empty
