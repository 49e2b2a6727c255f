"""Fixtures of the stress harness tests.

The server-wide faults (ambiguous: synchronous_standby_names; crash: immediate shutdown) run
only on a throwaway cluster started here, never on the shared server the other tests use.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgbalance import db as pgdb
from pgbalance.migrate import migrate


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[pgdb.EmbeddedCluster]:
    """A PostgreSQL cluster of this module's own, in a temp directory, removed afterwards."""
    try:
        bindir = pgdb.find_bindir()
    except pgdb.DatabaseSetupError as exc:  # the only crash, ambiguous-commit and failover tests
        pytest.fail(f"PostgreSQL server binaries are required here: {exc}")
    # Not tmp_path: pytest's temp root is private to root, and the server runs as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="pgbalance-stress-"))
    root.chmod(0o755)
    # A port of its own: modules on parallel xdist workers would both take the default.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cluster = pgdb.EmbeddedCluster(root=root, port=port, bindir=bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def own_dsn(own_cluster: pgdb.EmbeddedCluster) -> Iterator[str]:
    """A fresh migrated database on the module's own cluster."""
    name = f"stress_{uuid.uuid4().hex[:10]}"
    dsn = pgdb.ensure_database(own_cluster.dsn, name)
    migrate(dsn)
    yield dsn
    pgdb.drop_database(own_cluster.dsn, name)
