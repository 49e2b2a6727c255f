"""Shared by the wallet and booking tests: one migrated database per test module (tests
isolate themselves by tenant), a thin caller of the workflow SQL bound to one tenant, the
snapshot that proves a failed call wrote nothing, and calls made as pgbalance_app."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from tests.helpers.shared_db import shared_database
from tests.helpers.sqlstate import detail as detail
from tests.helpers.sqlstate import raises as raises
from tests.helpers.tenant_sql import TenantSql

Row = dict[str, Any]


wb_dsn, wb_conn = shared_database("wb", "module")


class Api(TenantSql):
    """The wallet/booking SQL functions for one tenant over one autocommit connection, called
    the way an application sends them (positional parameters, text and NULL as `unknown`)."""

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
        return row[0] if row else None

    def account_balance(self, code: str) -> int:
        return int(self.call("ledger.get_account", code)["balance"])

    def entries(self) -> int:
        return int(self.scalar("SELECT count(*) FROM ledger.entry WHERE tenant_id = %s",
                               (self.tenant,)))  # fmt: skip

    def verify(self) -> list[Row]:
        return self.call_rows("ledger.verify")

    def refused(self, *statements: str) -> None:
        """Each statement is refused with 42501 (run as pgbalance_app: see as_app)."""
        for statement in statements:
            with raises("42501"), self.conn.transaction():
                self.conn.execute(statement)  # type: ignore[arg-type]

    def snapshot(self) -> tuple[Any, ...]:
        """Everything a wallet or booking call could have written in this tenant."""
        t = (self.tenant,)
        queries = (
            "SELECT * FROM wallet.wallet WHERE tenant_id = %s ORDER BY user_id",
            "SELECT * FROM wallet.tx WHERE tenant_id = %s ORDER BY tx_no",
            "SELECT * FROM booking.booking WHERE tenant_id = %s ORDER BY booking_id",
            "SELECT * FROM booking.payment WHERE tenant_id = %s ORDER BY payment_no",
            "SELECT * FROM ledger.entry WHERE tenant_id = %s ORDER BY entry_id",
            "SELECT * FROM ledger.posting WHERE tenant_id = %s ORDER BY entry_id, posting_no",
            "SELECT * FROM ledger.account WHERE tenant_id = %s ORDER BY account_id",
        )
        return tuple(tuple(map(str, self.rows(q, t))) for q in queries)


@contextmanager
def as_app(conn: psycopg.Connection[Any], tenant: str) -> Iterator[Api]:
    """An Api whose calls run as pgbalance_app, in one transaction (committed on exit)."""
    with conn.transaction():
        conn.execute("SET LOCAL ROLE pgbalance_app")
        yield Api(conn, tenant)
