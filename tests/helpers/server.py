"""The server the tests run against (whatever pgbalance.db.resolve_dsn() finds), and the
names of the databases a test session makes there.

Several sessions may share one server (engineers and CI on one machine), so every database a
session creates starts with `pgbalance_t<pid>` of the process that made it; databases whose
process is gone are leftovers of a killed run and are dropped by drop_orphans().
"""

from __future__ import annotations

import os
import re

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgbalance import db as pgdb

SERVER_DSN = pgdb.resolve_dsn()
HOST, PORT, USER, PASSWORD = pgdb.parse_server(SERVER_DSN)
PREFIX = f"pgbalance_t{os.getpid()}"
_OURS = re.compile(r"^pgbalance_t(\d+)")


def server_dsn(dbname: str) -> str:
    """A keyword DSN for database `dbname` on the test server."""
    return make_conninfo(host=HOST, port=PORT, user=USER, password=PASSWORD, dbname=dbname)


def maintenance_dsn() -> str:
    return server_dsn("postgres")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_orphans() -> list[str]:
    """Drop test databases whose creating process no longer exists (local servers only:
    a pid means nothing on another host)."""
    if not (HOST.startswith("/") or HOST in ("127.0.0.1", "localhost", "::1")):
        return []
    dropped: list[str] = []
    with psycopg.connect(maintenance_dsn(), autocommit=True) as conn:
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()]
        for name in names:
            m = _OURS.match(name)
            if not m or _alive(int(m.group(1))):
                continue
            ident = sql.Identifier(name)
            try:
                conn.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(ident))
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
            except psycopg.Error:
                continue  # another session is cleaning up the same orphan
            dropped.append(name)
    return dropped
