"""The base of the tests' thin SQL callers (tests/kernel/support.py Ledger, the workflow
support modules' Api): one tenant over one autocommit connection, calls sent the way an
application sends them (positional parameters, text and NULL as `unknown`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row

Row = dict[str, Any]


class TenantSql:
    """Raw access for one tenant: rows of any SQL, and `fn(tenant, *args)` calls."""

    def __init__(self, conn: psycopg.Connection[Any], tenant: str) -> None:
        self.conn = conn
        self.tenant = tenant

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def call_rows(self, fn: str, *args: Any) -> list[Row]:
        """SELECT * FROM fn(tenant, *args)."""
        marks = ", ".join(["%s"] * (len(args) + 1))
        return self.rows(f"SELECT * FROM {fn}({marks})", (self.tenant, *args))

    def call(self, fn: str, *args: Any) -> Row:
        """SELECT * FROM fn(tenant, *args): exactly one row."""
        rows = self.call_rows(fn, *args)
        assert len(rows) == 1, rows
        return rows[0]
