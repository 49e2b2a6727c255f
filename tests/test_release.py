"""Releases: the version everywhere it shows, the install checks, and every release boundary
crossed both ways (`pgbalance migrate --to 0.1.0`, then `pgbalance migrate`) with data in the
database and the API working on each side."""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from yoyo import get_backend, read_migrations

from pgbalance import __version__, paths, release
from pgbalance import db as pgdb
from pgbalance.cli import main as cli_main
from pgbalance.migrate import MigrationError, migrate, yoyo_url
from tests.dba._support import kernel_dump, ledger_rows, put_ledger_data, verify_rows
from tests.dba.test_upgrade import materialize
from tests.helpers.server import PREFIX, maintenance_dsn
from tests.helpers.sqlstate import raises

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def other_empty_dsn() -> Iterator[str]:
    """A second brand-new database, dropped afterwards."""
    name = f"{PREFIX}_empty_{uuid.uuid4().hex[:8]}"
    dsn = pgdb.ensure_database(maintenance_dsn(), name)
    yield dsn
    pgdb.drop_database(maintenance_dsn(), name)


def _applied(dsn: str) -> list[str]:
    return release.installed(dsn)[1]


def test_version_comes_from_pyproject(capsys: pytest.CaptureFixture[str]) -> None:
    with (ROOT / "pyproject.toml").open("rb") as f:
        assert __version__ == tomllib.load(f)["project"]["version"]
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"pgbalance {__version__}"


def test_migrate_records_the_release_once(empty_dsn: str) -> None:
    migrate(empty_dsn)
    migrate(empty_dsn)
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        rows = conn.execute("SELECT release, last_migration FROM ledger.version()").fetchall()
        assert rows == [(__version__, release.migration_ids()[-1])]
        history: Any = conn.execute("SELECT count(*) FROM ledger.release_history").fetchone()
        assert history == (1,)


def test_version_is_readable_by_app_and_auditor(db: psycopg.Connection[Any]) -> None:
    for role in ("pgbalance_app", "pgbalance_auditor"):
        with db.transaction(force_rollback=True):
            db.execute(f"SET LOCAL ROLE {role}")
            row = db.execute("SELECT release FROM ledger.version()").fetchone()
            assert row == (__version__,)


def test_earlier_release_snapshot_is_its_commits_sql(tmp_path: Path) -> None:
    """releases/<version>.sql is exactly that release's sql/ (read from git history)."""
    for target in release.EARLIER_RELEASES:
        old = materialize(target.commit, tmp_path / target.version)
        assert target.sql_snapshot.read_text("utf-8") == release.snapshot_text(
            target, old / "sql"
        ), f"{target.sql_snapshot} differs from sql/ at {target.commit}"
        old_ids = sorted(p.name.removesuffix(".sql") for p in (old / "migrations").glob("*.sql")
                         if not p.name.endswith(".rollback.sql"))  # fmt: skip
        assert sorted(target.migrations) == old_ids


@pytest.mark.parametrize("target", release.EARLIER_RELEASES, ids=lambda r: r.version)
def test_down_to_an_earlier_release_and_up_again(
    target: release.Release, empty_dsn: str, other_empty_dsn: str, dsn: str, tenant: str,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # A fresh install of the earlier release, from its commit, to compare with.
    monkeypatch.setenv("PGBALANCE_HOME", str(materialize(target.commit, tmp_path / "old")))
    migrate(other_empty_dsn)
    monkeypatch.delenv("PGBALANCE_HOME")
    old_fresh = kernel_dump(other_empty_dsn)

    migrate(empty_dsn)
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        put_ledger_data(conn, tenant)
        rows = ledger_rows(conn)

    assert cli_main(["migrate", "--dsn", empty_dsn, "--to", target.version, "--yes"]) == 0
    assert _applied(empty_dsn) == list(target.migrations)
    assert kernel_dump(empty_dsn) == old_fresh, "the downgrade differs from a fresh install"
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        # Columns the earlier release does not have (e.g. entry.created_xid of the change
        # feed) go with the migrations rolled back; every other value is kept.
        down = ledger_rows(conn)
        assert down == {t: [{k: r[k] for k in (down[t] or [{}])[0]} for r in rs]
                        for t, rs in rows.items()}  # fmt: skip
        assert verify_rows(conn) == []
        moved = conn.execute("SELECT status, replayed FROM ledger.transfer(%s, 'down', 'alice', "
                             "'bob', 5)", (tenant,)).fetchone()  # fmt: skip
        assert moved == ("posted", False)
        replay = conn.execute("SELECT replayed FROM ledger.transfer(%s, 'pay-1', 'alice', "
                              "'bob', 1200)", (tenant,)).fetchone()  # fmt: skip
        assert replay == (True,)
        assert verify_rows(conn) == []

    assert cli_main(["migrate", "--dsn", empty_dsn]) == 0
    assert kernel_dump(empty_dsn) == kernel_dump(dsn), "the upgrade differs from a fresh install"
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        assert conn.execute("SELECT release FROM ledger.version()").fetchone() == (__version__,)
        moved = conn.execute("SELECT status FROM ledger.transfer(%s, 'up', 'bob', 'alice', 5)",
                             (tenant,)).fetchone()  # fmt: skip
        assert moved == ("posted",)
        assert verify_rows(conn) == []


def test_to_the_current_release_is_migrate(empty_dsn: str) -> None:
    assert "migrations applied" in release.migrate_to(empty_dsn, __version__)
    assert release.installed(empty_dsn) == (__version__, release.migration_ids())


def test_to_an_unknown_release_names_the_known_ones(empty_dsn: str) -> None:
    with pytest.raises(MigrationError, match=r"unknown release 9\.9\.9.*0\.1\.0"):
        release.migrate_to(empty_dsn, "9.9.9")


def test_plain_partial_yoyo_rollback_is_refused(db: psycopg.Connection[Any], dsn: str) -> None:
    """`yoyo rollback` undoes the newest migration first: its rollback refuses (each one's
    from 0010_release_history on), so the installed functions never lose what they use."""
    migrations = read_migrations(str(paths.migrations_dir()))
    newest = next(iter(get_backend(yoyo_url(dsn)).to_rollback(migrations)))
    backend = get_backend(yoyo_url(dsn))
    try:
        with backend.lock(), pytest.raises(psycopg.Error) as refused:
            backend.rollback_one(newest)
    finally:
        backend.connection.close()
    assert newest.id == release.migration_ids()[-1]
    assert refused.value.sqlstate == "55000"
    assert _applied(dsn) == release.migration_ids()
    assert db.execute("SELECT count(*) FROM ledger.version()").fetchone() == (1,)


def test_newer_migrations_are_refused_before_anything(db: psycopg.Connection[Any],
                                                      dsn: str) -> None:  # fmt: skip
    db.execute("INSERT INTO _yoyo_migration VALUES ('x', '9999_from_the_future', now())")
    with pytest.raises(MigrationError, match="9999_from_the_future") as refused:
        migrate(dsn)
    assert "55000" in str(refused.value)
    with pytest.raises(MigrationError, match="9999_from_the_future"):
        release.migrate_to(dsn, "0.1.0")
    assert _applied(dsn)[-1] == "9999_from_the_future"  # nothing was rolled back


def test_a_missing_release_snapshot_is_refused_before_anything(
    db: psycopg.Connection[Any], dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An install without releases/ (a PGBALANCE_HOME made before it existed) cannot go back:
    that is known before a migration is rolled back, not after."""
    before = _applied(dsn)
    monkeypatch.setattr(paths, "releases_dir", lambda: tmp_path)
    with pytest.raises(MigrationError, match="0.1.0.sql"):
        release.migrate_to(dsn, "0.1.0")
    assert _applied(dsn) == before


@pytest.mark.parametrize("schema", ["ledger", "wallet", "booking", "fees", "tuition"])
def test_a_foreign_kernel_schema_stops_the_install(empty_dsn: str, schema: str) -> None:
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    with pytest.raises(MigrationError, match=f"schema {schema} already exists") as refused:
        migrate(empty_dsn)
    assert "42P06" in str(refused.value)
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        made = conn.execute(
            "SELECT array_agg(nspname ORDER BY nspname) FROM pg_namespace "
            "WHERE nspname IN ('ledger', 'wallet', 'booking', 'fees', 'tuition')"
        ).fetchone()  # fmt: skip
        assert made == ([schema],)
        assert conn.execute("SELECT to_regclass('_yoyo_migration')").fetchone() == (None,)


def test_every_kernel_schema_has_a_creating_migration() -> None:
    """The clash check knows which migration makes each schema (read from the files)."""
    assert set(release.schema_creators()) == {"ledger", "wallet", "booking", "fees", "tuition"}


def test_destructive_migrate_options_need_yes(
    db: psycopg.Connection[Any], dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["migrate", "--dsn", dsn, "--rollback-all"]) == 2
    assert cli_main(["migrate", "--dsn", dsn, "--to", "0.1.0"]) == 2
    assert capsys.readouterr().err.count("--yes") == 2
    assert _applied(dsn) == release.migration_ids()


def test_a_function_used_elsewhere_stops_the_downgrade(
    db: psycopg.Connection[Any], dsn: str, tenant: str
) -> None:
    db.execute("CREATE VIEW public.pgb_uses_kernel AS SELECT * FROM ledger.verify()")
    with pytest.raises(MigrationError, match="pgb_uses_kernel"):
        release.migrate_to(dsn, "0.1.0")
    # Refused before anything changed: this release's migrations and functions, working.
    assert_untouched(db, dsn, tenant)


def test_tenant_grants_stop_the_downgrade_before_anything(
    db: psycopg.Connection[Any], dsn: str, tenant: str
) -> None:
    """0.1.0 has no tenant grants, and 0007's rollback refuses to drop them: refused up front
    (it used to come after the newer migrations were rolled back)."""
    role = f"pgb_release_test_{uuid.uuid4().hex[:8]}"
    db.execute(f"CREATE ROLE {role} LOGIN IN ROLE pgbalance_app")
    try:
        db.execute("SELECT ledger.grant_tenant(%s, %s)", (tenant, role))
        with pytest.raises(MigrationError, match="tenant_grant"):
            release.migrate_to(dsn, "0.1.0")
        assert_untouched(db, dsn, tenant)
    finally:
        db.execute("DELETE FROM ledger.tenant_grant")
        db.execute(f"DROP ROLE {role}")


def assert_untouched(db: psycopg.Connection[Any], dsn: str, tenant: str) -> None:
    assert _applied(dsn) == release.migration_ids()
    assert db.execute("SELECT release FROM ledger.version()").fetchone() == (__version__,)
    db.execute("SELECT * FROM ledger.open_account(%s, 'a', 'EUR')", (tenant,))
    db.execute("SELECT * FROM ledger.open_account(%s, 'b', 'EUR', NULL)", (tenant,))
    moved = db.execute("SELECT status FROM ledger.transfer(%s, 'k', 'b', 'a', 5)",
                       (tenant,)).fetchone()  # fmt: skip
    assert moved == ("posted",)
    assert db.execute("SELECT count(*) FROM ledger.verify(%s)", (tenant,)).fetchone() == (0,)


def test_get_tenant_answers_from_sql(db: psycopg.Connection[Any], tenant: str) -> None:
    with raises("PB005"):
        db.execute("SELECT * FROM ledger.get_tenant(%s)", (tenant,))
    db.execute("SELECT * FROM ledger.open_account(%s, 'a', 'EUR')", (tenant,))
    row = db.execute("SELECT * FROM ledger.get_tenant(%s)", (tenant,)).fetchone()
    assert row == (tenant, 1, 1)
