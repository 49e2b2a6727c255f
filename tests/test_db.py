"""The database bootstrap: the throwaway cluster and ensure_database."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pgbalance import db as pgdb
from tests.helpers.server import PREFIX, maintenance_dsn


def _bindir_or_skip() -> Path:
    try:
        return pgdb.find_bindir()
    except pgdb.DatabaseSetupError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def cluster() -> Iterator[pgdb.EmbeddedCluster]:
    bindir = _bindir_or_skip()
    # Not tmp_path: pytest's temp root is private to root, and the server runs as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="pgbalance-cluster-"))
    root.chmod(0o755)
    c = pgdb.EmbeddedCluster(root=root, bindir=bindir)
    try:
        yield c
    finally:
        c.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.embedded
@pytest.mark.slow
def test_embedded_cluster_lifecycle(cluster: pgdb.EmbeddedCluster) -> None:
    cluster.start()
    assert cluster.is_running()
    port = cluster.port
    cluster.start()  # reused, not started twice
    assert cluster.port == port

    app = pgdb.ensure_database(cluster.dsn, "pgbalance")
    assert pgdb.ensure_database(cluster.dsn, "pgbalance") == app  # idempotent
    with psycopg.connect(app, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (1)")

    # A committed row survives a crash (immediate shutdown, then recovery).
    cluster.crash_restart()
    assert cluster.port == port  # DSNs handed out before the crash stay valid
    with psycopg.connect(app, autocommit=True) as conn:
        assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
        encoding = conn.execute("SHOW server_encoding").fetchone()
        assert encoding == ("UTF8",)

    # A second handle on the same directory finds the running server and its port.
    other = pgdb.EmbeddedCluster(root=cluster.root, bindir=cluster.bindir)
    other.start()
    assert other.dsn == cluster.dsn

    cluster.stop()
    assert not cluster.is_running()


@pytest.mark.embedded
def test_resolve_dsn_embedded(
    monkeypatch: pytest.MonkeyPatch, cluster: pgdb.EmbeddedCluster
) -> None:
    """PGBALANCE_DB=embedded skips the local server and uses (or starts) the cluster."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PGBALANCE_DB", "embedded")
    monkeypatch.setenv("PGBALANCE_PGDATA", str(cluster.root))
    dsn = pgdb.resolve_dsn()
    assert cluster.is_running()
    with psycopg.connect(dsn) as conn:
        assert conn.info.dbname == "pgbalance"
        assert f"port={conn.info.port} " in cluster.dsn


def test_find_bindir_explains_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(pgdb.glob, "glob", lambda pattern: [])
    with pytest.raises(pgdb.DatabaseSetupError, match="apt-get install postgresql"):
        pgdb.find_bindir()


def test_ensure_database_creates_once() -> None:
    name = f"{PREFIX}_ensure_{uuid.uuid4().hex[:8]}"
    maintenance = maintenance_dsn()
    try:
        dsn = pgdb.ensure_database(maintenance, name)
        assert pgdb.ensure_database(maintenance, name) == dsn
        with psycopg.connect(dsn) as conn:
            assert conn.info.dbname == name
    finally:
        pgdb.drop_database(maintenance, name)


def test_running_as_root_uses_the_postgres_user() -> None:
    if os.geteuid() != 0:
        pytest.skip("only meaningful as root")
    c = pgdb.EmbeddedCluster(root=Path(tempfile.gettempdir()) / "unused")
    assert c._as_server_user() == ["runuser", "-u", "postgres", "--"]
