"""A 3-node Citus cluster of the tests' own: a coordinator and two workers, each an
EmbeddedCluster (run as the `postgres` OS user) on a free port, in one temp directory.

Citus itself is not packaged for Debian: `../shared/vendor/citus/build.sh` builds it into the
server's lib directory (.ci/run does so when it is missing); without it the Citus tests skip.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from pgbalance import db as pgdb

HOST = "127.0.0.1"
NODES = ("coordinator", "worker1", "worker2")
SETTINGS: dict[str, str | tuple[str, ...]] = {
    "shared_preload_libraries": "citus",
    # Citus commits multi-node transactions with 2PC (migrate's DDL on distributed tables).
    "max_prepared_transactions": "100",
    # Shard moves and tenant isolation copy shards by logical replication, decoded by Citus
    # (PostgreSQL 15.20 accepts only the output plugins it lists).
    "wal_level": "logical",
    "output_plugin_libraries": ("pgoutput", "test_decoding", "citus"),
    # A test cluster: durability buys nothing, and two cores are shared with the other tests.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    # One Citus maintenance daemon per database, and the tests make a few.
    "max_worker_processes": "16",
}
# Fewer shards than Citus's default 32: distributing 13 tables stays quick, and 8 shard
# groups over two workers still show any fan-out.
SHARD_COUNT = 8


def citus_missing() -> str | None:
    """Why the Citus tests cannot run here, or None when they can."""
    try:
        bindir = pgdb.find_bindir()
    except pgdb.DatabaseSetupError as exc:
        return str(exc)
    if not (bindir.parent / "lib" / "citus.so").is_file():
        return (
            f"Citus is not installed for the PostgreSQL in {bindir.parent} "
            "(build it with ../shared/vendor/citus/build.sh, as root)"
        )
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def dsn_at(port: int, dbname: str) -> str:
    return f"host={HOST} port={port} user=postgres dbname={dbname}"


class CitusCluster:
    """Three servers in `root` (a temp directory unless given); start() / stop()."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or Path(tempfile.mkdtemp(prefix="pgbalance-citus-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # the servers run as `postgres` below it
        self.nodes = [
            pgdb.EmbeddedCluster(root=self.root / name, port=_free_port()) for name in NODES
        ]

    @property
    def coordinator(self) -> pgdb.EmbeddedCluster:
        return self.nodes[0]

    @property
    def workers(self) -> list[pgdb.EmbeddedCluster]:
        return self.nodes[1:]

    def port(self, node: pgdb.EmbeddedCluster) -> int:
        assert node.port is not None
        return node.port

    def start(self) -> None:
        for node in self.nodes:
            node.start()
            with psycopg.connect(node.dsn, autocommit=True) as conn:
                for name, value in SETTINGS.items():
                    values = value if isinstance(value, tuple) else (value,)  # a list: one each
                    conn.execute(
                        sql.SQL("ALTER SYSTEM SET {} = {}").format(
                            sql.Identifier(name), sql.SQL(", ").join(map(sql.Literal, values))
                        )
                    )
            node.stop()  # shared_preload_libraries and wal_level need a restart
            node.start()

    def create_database(self, name: str) -> str:
        """Database `name` on every node with the citus extension, the workers added;
        returns the coordinator's DSN for it (an existing database gets Citus added)."""
        for node in self.nodes:
            dsn = pgdb.ensure_database(node.dsn, name)
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS citus")
        coordinator = dsn_at(self.port(self.coordinator), name)
        with psycopg.connect(coordinator, autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET citus.shard_count = {}").format(
                    sql.Identifier(name), sql.Literal(SHARD_COUNT)
                )
            )
            conn.execute(
                "SELECT citus_set_coordinator_host(%s, %s)", (HOST, self.port(self.coordinator))
            )
            for worker in self.workers:
                conn.execute("SELECT citus_add_node(%s, %s)", (HOST, self.port(worker)))
        return coordinator

    def drop_database(self, name: str) -> None:
        for node in self.nodes:
            pgdb.drop_database(node.dsn, name)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop("immediate")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
