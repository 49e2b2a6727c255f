"""The server the tests run against: whatever pgbalance.db.resolve_dsn() finds."""

from __future__ import annotations

from psycopg.conninfo import make_conninfo

from pgbalance import db as pgdb

SERVER_DSN = pgdb.resolve_dsn()
HOST, PORT, USER, PASSWORD = pgdb.parse_server(SERVER_DSN)


def server_dsn(dbname: str) -> str:
    """A keyword DSN for database `dbname` on the test server."""
    return make_conninfo(host=HOST, port=PORT, user=USER, password=PASSWORD, dbname=dbname)
