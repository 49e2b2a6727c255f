"""The SQL bundle (`pgbalance bundle`): installed and upgraded with psql alone, the same
install as `pgbalance migrate` (which then finds nothing to do), refusing what migrate refuses,
and running the kernel tests (tests/conftest.py installs the template with it when
PGBALANCE_TEST_INSTALL=bundle)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgbalance import __version__, release
from pgbalance.cli import main as cli_main
from pgbalance.migrate import catalog_fingerprint, migrate
from tests.dba._support import kernel_dump, put_ledger_data, verify_rows
from tests.helpers.psql import install_bundle

ROOT = Path(__file__).resolve().parents[1]
# A representative part of tests/kernel: money movements, holds, reversals, roles, verify.
KERNEL_SUBSET = ("test_transfer.py", "test_holds.py", "test_reverse.py", "test_privileges.py",
                 "test_verify.py", "test_tenancy.py")  # fmt: skip


def test_bundle_installs_like_migrate(empty_dsn: str, dsn: str, tenant: str) -> None:
    done = install_bundle(empty_dsn)
    assert done.returncode == 0, done.stderr
    assert f"pgbalance {__version__}: installed" in done.stdout
    assert release.installed(empty_dsn) == (__version__, release.migration_ids())
    assert kernel_dump(empty_dsn) == kernel_dump(dsn)
    with psycopg.connect(empty_dsn, autocommit=True) as conn, psycopg.connect(dsn) as fresh:
        assert catalog_fingerprint(conn) == catalog_fingerprint(fresh)
        put_ledger_data(conn, tenant)
        assert verify_rows(conn) == []

    # Run again: an upgrade to the same release changes nothing and records nothing.
    again = install_bundle(empty_dsn)
    assert again.returncode == 0, again.stderr
    # yoyo (through pgbalance migrate) sees every migration as applied.
    report = migrate(empty_dsn)
    assert report.applied == [] and not report.catalog_changed
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM ledger.release_history").fetchone() == (1,)
        logged: Any = conn.execute(
            "SELECT count(*) FROM _yoyo_log WHERE comment = %s AND operation = 'apply'",
            (f"pgbalance bundle {__version__}",),
        ).fetchone()
        assert logged == (len(release.migration_ids()),)


def test_bundle_upgrades_an_earlier_release(empty_dsn: str, dsn: str, tenant: str) -> None:
    migrate(empty_dsn)
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        put_ledger_data(conn, tenant)
    earlier = release.EARLIER_RELEASES[-1]
    release.migrate_to(empty_dsn, earlier.version)
    assert release.installed(empty_dsn)[1] == list(earlier.migrations)

    done = install_bundle(empty_dsn)
    assert done.returncode == 0, done.stderr
    assert release.installed(empty_dsn) == (__version__, release.migration_ids())
    assert kernel_dump(empty_dsn) == kernel_dump(dsn)
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        assert verify_rows(conn) == []


def test_bundle_refuses_a_foreign_schema_and_applies_nothing(empty_dsn: str) -> None:
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA fees")
    done = install_bundle(empty_dsn)
    assert done.returncode != 0
    assert "schema fees already exists" in done.stderr
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        assert conn.execute("SELECT to_regnamespace('ledger')").fetchone() == (None,)
        assert conn.execute("SELECT to_regclass('_yoyo_migration')").fetchone() == (None,)


def test_bundle_command_writes_the_file(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert cli_main(["bundle"]) == 0
    printed = capsys.readouterr().out
    out = tmp_path / f"pgbalance-{__version__}.sql"
    assert cli_main(["bundle", "-o", str(out)]) == 0
    assert out.read_text("utf-8") == printed
    assert printed.startswith(f"-- pgbalance {__version__}:")


def test_installed_by_the_bundle_when_asked(db: psycopg.Connection[Any]) -> None:
    """Run by test_kernel_tests_pass_on_a_bundle_install: proves the template came from psql."""
    if os.environ.get("PGBALANCE_TEST_INSTALL") != "bundle":
        pytest.skip("only inside the bundle run of the kernel tests")
    row = db.execute("SELECT count(*) FROM _yoyo_log WHERE comment LIKE 'pgbalance bundle %'"
                     ).fetchone()  # fmt: skip
    assert row == (len(release.migration_ids()),)


@pytest.mark.slow
def test_kernel_tests_pass_on_a_bundle_install() -> None:
    if os.environ.get("PGBALANCE_TEST_INSTALL") == "bundle":
        pytest.skip("already inside the bundle run")
    targets = [f"tests/kernel/{name}" for name in KERNEL_SUBSET]
    targets.append("tests/test_bundle.py::test_installed_by_the_bundle_when_asked")
    env = dict(os.environ, PGBALANCE_TEST_INSTALL="bundle")
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", *targets],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    tail = "\n".join(out.stdout.splitlines()[-15:])
    assert out.returncode == 0, tail + out.stderr[-2000:]
    assert "PASSED tests/test_bundle.py::test_installed_by_the_bundle_when_asked" in out.stdout

