"""Deployment: yoyo migrations + sql/ re-application, the CLI, DSN resolution."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from yoyo.connections import parse_uri

from pgbalance import db as pgdb
from pgbalance import paths
from pgbalance.cli import main as cli_main
from pgbalance.migrate import (
    MigrationError,
    apply_sql_objects,
    catalog_fingerprint,
    migrate,
    rollback_all,
    sql_files,
    yoyo_url,
)


def _migration_ids() -> list[str]:
    directory = paths.migrations_dir()
    if not directory.is_dir():
        return []
    return sorted(
        p.name.removesuffix(".sql")
        for p in directory.glob("*.sql")
        if not p.name.endswith(".rollback.sql")
    )


def _has_function(conn: psycopg.Connection[Any], qualified: str) -> bool:
    schema, name = qualified.split(".")
    row = conn.execute(
        "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = %s AND p.proname = %s",
        (schema, name),
    ).fetchone()
    return bool(row and row[0])


def test_migrate_empty_database_twice(empty_dsn: str) -> None:
    first = migrate(empty_dsn)
    assert first.applied == _migration_ids()
    assert len(first.sql_files) == len(sql_files())

    second = migrate(empty_dsn)
    assert second.applied == []
    assert not second.catalog_changed
    assert second.catalog_before == first.catalog_after
    assert str(second).startswith("0 migrations applied")
    assert "catalog unchanged" in str(second)


def test_rollback_all_then_migrate_again(empty_dsn: str) -> None:
    first = migrate(empty_dsn)
    rolled_back = rollback_all(empty_dsn)
    assert rolled_back == list(reversed(first.applied))
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        left = conn.execute("SELECT count(*) FROM _yoyo_migration").fetchone()
        assert left == (0,)
        assert not _has_function(conn, "ledger.transfer")

    again = migrate(empty_dsn)
    assert again.applied == first.applied
    assert again.catalog_after == first.catalog_after


def test_template_copy_is_migrated(db: psycopg.Connection[Any]) -> None:
    """Each test's database is a copy of the migrated template: nothing left to apply."""
    applied = db.execute("SELECT count(*) FROM _yoyo_migration").fetchone()
    assert applied == (len(_migration_ids()),)


def test_broken_sql_file_leaves_old_objects(
    empty_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sql/ is applied in one transaction: a failing file undoes the files before it."""
    (tmp_path / "migrations").mkdir()
    sql = tmp_path / "sql"
    (sql / "a").mkdir(parents=True)
    (sql / "a" / "probe.sql").write_text(
        "CREATE OR REPLACE FUNCTION public.pgb_probe() RETURNS int LANGUAGE sql AS 'SELECT 2';\n"
        "COMMENT ON FUNCTION public.pgb_probe() IS 'probe v2';\n"
    )
    (sql / "b_broken.sql").write_text("CREATE OR REPLACE FUNCTION public.pgb_oops( AS;\n")
    monkeypatch.setenv("PGBALANCE_HOME", str(tmp_path))
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        conn.execute("CREATE FUNCTION public.pgb_probe() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        with pytest.raises(MigrationError, match=r"sql/b_broken\.sql"):
            migrate(empty_dsn)
        assert conn.execute("SELECT public.pgb_probe()").fetchone() == (1,)

        (sql / "b_broken.sql").unlink()
        files, _, _ = apply_sql_objects(empty_dsn)
        assert files == ["a/probe.sql"]
        assert conn.execute("SELECT public.pgb_probe()").fetchone() == (2,)


def test_fingerprint_sees_a_changed_function(db: psycopg.Connection[Any]) -> None:
    before = catalog_fingerprint(db)
    db.execute("CREATE SCHEMA IF NOT EXISTS ledger")
    db.execute("CREATE FUNCTION ledger.pgb_fingerprint_probe() RETURNS int LANGUAGE sql "
               "AS 'SELECT 1'")  # fmt: skip
    assert catalog_fingerprint(db) != before


def test_cli_migrate_and_verify(dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["migrate", "--dsn", dsn]) == 0
    assert "0 migrations applied" in capsys.readouterr().out
    assert cli_main(["--dsn", dsn, "verify"]) == 0
    assert "ledger consistent" in capsys.readouterr().out


def test_cli_runs_as_a_module(dsn: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pgbalance", "migrate", "--dsn", dsn],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "sql/:" in out.stdout


def test_cli_reports_a_bad_server_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    bad = "host=127.0.0.1 port=1 user=postgres dbname=nope connect_timeout=2"
    assert cli_main(["verify", "--dsn", bad]) == 2
    assert "pgbalance verify:" in capsys.readouterr().err


def test_resolve_dsn_honors_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone@db.invalid:6543/elsewhere")
    assert pgdb.resolve_dsn() == "postgresql://someone@db.invalid:6543/elsewhere"


@pytest.mark.parametrize(
    ("dsn", "database", "args"),
    [
        ("postgresql://u:p%40ss@h:6543/d", "d",
         {"host": "h", "port": "6543", "user": "u", "password": "p@ss"}),
        ("host=/var/run/postgresql user=postgres dbname=pgbalance", "pgbalance",
         {"host": "/var/run/postgresql", "user": "postgres"}),
        ("dbname='my db' password='a b&c' connect_timeout=3", "my db",
         {"password": "a b&c", "connect_timeout": "3"}),
    ],
)  # fmt: skip
def test_yoyo_url_keeps_every_parameter(dsn: str, database: str, args: dict[str, str]) -> None:
    uri = parse_uri(yoyo_url(dsn))
    assert uri.scheme == "postgresql+psycopg"
    assert uri.args == {"dbname": database, **args}


def test_paths_prefer_pgbalance_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert paths.sql_dir() == Path(__file__).resolve().parents[1] / "sql"
    monkeypatch.setenv("PGBALANCE_HOME", str(tmp_path))
    assert paths.sql_dir() == tmp_path / "sql"
    assert paths.migrations_dir() == tmp_path / "migrations"
