"""`pgbalance server start|stop|status` on a throwaway cluster of its own, the pgserver
fallback for server binaries, and the try-out commands (run, stress) in scratch databases of
their own instead of the application's."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgbalance import db as pgdb
from pgbalance.cli import main as cli_main
from tests.helpers.server import PREFIX, maintenance_dsn


@pytest.fixture
def cluster_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """PGBALANCE_PGDATA pointed at a directory of this test (the server user can reach it)."""
    try:
        pgdb.find_bindir()
    except pgdb.DatabaseSetupError as exc:
        pytest.skip(str(exc))
    root = Path(tempfile.mkdtemp(prefix="pgbalance-server-cli-"))
    root.chmod(0o755)
    monkeypatch.setenv("PGBALANCE_PGDATA", str(root))
    yield root
    cluster = pgdb.EmbeddedCluster(root=root)
    if cluster.is_running():
        cluster.stop("immediate")
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.embedded
@pytest.mark.slow
def test_server_start_status_stop_delete(
    cluster_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["server", "status"]) == 3
    assert "not running (does not exist yet)" in capsys.readouterr().out

    assert cli_main(["server", "start"]) == 0
    out = capsys.readouterr().out
    cluster = pgdb.EmbeddedCluster(root=cluster_root)
    port = cluster.running_port()
    assert port is not None
    assert f"{cluster_root.resolve()} running on 127.0.0.1:{port}" in out
    assert f"DATABASE_URL=postgresql://postgres@127.0.0.1:{port}/pgbalance" in out
    # A DSN on it is described as the throwaway cluster.
    assert str(cluster_root.resolve()) in pgdb.describe(cluster.dsn)

    assert cli_main(["server", "status"]) == 0
    assert f"running on 127.0.0.1:{port}" in capsys.readouterr().out

    assert cli_main(["server", "stop"]) == 0
    assert "stopped" in capsys.readouterr().out
    assert not cluster.is_running()
    assert cli_main(["server", "stop", "--delete"]) == 0
    assert "was not running" in capsys.readouterr().out
    assert not cluster_root.exists()


def test_pgserver_binaries_are_the_last_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no PGBALANCE_PG_BINDIR, pg_config or Debian server, an installed pgserver wheel's
    binaries are used (found by its package location, not by importing it)."""
    package = tmp_path / "pgserver"
    bindir = package / "pginstall" / "bin"
    bindir.mkdir(parents=True)
    for tool in ("initdb", "pg_ctl"):
        (bindir / tool).touch()
    spec = ModuleSpec("pgserver", None, origin=str(package / "__init__.py"))
    monkeypatch.delenv("PGBALANCE_PG_BINDIR", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(pgdb.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(pgdb.importlib.util, "find_spec",
                        lambda name: spec if name == "pgserver" else None)  # fmt: skip
    assert pgdb.find_bindir() == bindir


@pytest.fixture
def app_database(db: psycopg.Connection[Any], dsn: str, monkeypatch: pytest.MonkeyPatch,
                 ) -> Iterator[str]:  # fmt: skip
    """DATABASE_URL set to a migrated database (the "application's"); the scratch database
    names made unique to this session (a fixed name would be shared with other sessions)."""
    monkeypatch.setenv("DATABASE_URL", dsn)
    monkeypatch.setattr(pgdb, "DEMO_DATABASE", f"{PREFIX}_demo")
    monkeypatch.setattr(pgdb, "STRESS_DATABASE", f"{PREFIX}_stress")
    yield dsn
    for name in (pgdb.DEMO_DATABASE, pgdb.STRESS_DATABASE):
        pgdb.drop_database(maintenance_dsn(), name)


def _tenants(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(DISTINCT tenant_id) FROM ledger.account").fetchone()
    return int(row[0]) if row else 0


@pytest.mark.concurrency
def test_run_uses_its_own_database_recreated_each_time(
    app_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--threads", "2", "--ops", "5", "--accounts", "3", "--incident-workers", "0"]
    demo = pgdb.with_dbname(app_database, pgdb.DEMO_DATABASE)
    for _ in range(2):
        assert cli_main(argv) == 0
        assert _tenants(demo) == 1  # the previous run's tenant went with its database
    assert _tenants(app_database) == 0
    assert f"database {pgdb.DEMO_DATABASE} on" in capsys.readouterr().err
    # Asked explicitly, it runs where it is told.
    assert cli_main([*argv, "--dsn", app_database]) == 0
    assert _tenants(app_database) == 1


@pytest.mark.concurrency
@pytest.mark.slow
def test_stress_uses_its_own_database(
    app_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["stress", "--workers", "2", "--seconds", "1", "--scenario", "transfers"]
    assert cli_main(argv) == 0
    assert _tenants(app_database) == 0
    assert _tenants(pgdb.with_dbname(app_database, pgdb.STRESS_DATABASE)) > 0
    assert f"database {pgdb.STRESS_DATABASE} on" in capsys.readouterr().err
