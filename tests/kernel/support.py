"""Helpers for the kernel tests: a thin caller of the SQL contract bound to one tenant.

Every call goes through the public SQL functions exactly as an application would send it
(positional parameters, text and NULL as `unknown`), so these tests exercise the contract,
not the Python client (tests/kernel/test_client.py covers that separately).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

from tests.helpers.sqlstate import detail as detail
from tests.helpers.sqlstate import raises as raises
from tests.helpers.tenant_sql import TenantSql

Row = dict[str, Any]
Legs = Sequence[tuple[str, int]]


def legs_json(legs: Legs) -> Jsonb:
    return Jsonb([{"account": code, "amount": amount} for code, amount in legs])


def new_key() -> str:
    return f"k-{uuid.uuid4().hex[:12]}"


def tag_cursor(conn: psycopg.Connection[Any], tenant: str, body: str) -> str:
    """A ledger.changes cursor of `tenant` with `body` (its fields before the tag), tagged as
    ledger.changes tags its own: how tests make cursors the server did not hand out."""
    row = conn.cursor(row_factory=tuple_row).execute(
        "SELECT left(md5(%s || '/' || %s), 16)", (tenant, body)
    ).fetchone()  # fmt: skip
    assert row is not None
    return f"{body}/{row[0]}"


class Ledger(TenantSql):
    """The kernel's SQL API for one tenant over one autocommit connection (`call` takes the
    function name without its `ledger.` schema)."""

    # -- raw access (`rows` and `call_rows` from TenantSql) ---------------------------
    def one(self, sql: str, params: Sequence[Any] = ()) -> Row:
        rows = self.rows(sql, params)
        assert len(rows) == 1, rows
        return rows[0]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return next(iter(self.one(sql, params).values()))

    def call(self, fn: str, *args: Any) -> Row:
        """SELECT * FROM ledger.fn(tenant, *args): exactly one row."""
        marks = ", ".join(["%s"] * (len(args) + 1))
        return self.one(f"SELECT * FROM ledger.{fn}({marks})", (self.tenant, *args))

    def now(self) -> datetime:
        value: datetime = self.scalar("SELECT clock_timestamp()")
        return value

    # -- accounts -------------------------------------------------------------------
    def open(
        self,
        code: str,
        currency: str = "EUR",
        min_balance: int | None = 0,
        max_balance: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Row:
        return self.call(
            "open_account", code, currency, min_balance, max_balance, Jsonb(metadata or {})
        )

    def account(self, code: str) -> Row:
        return self.call("get_account", code)

    def balance(self, code: str) -> int:
        value: int = self.account(code)["balance"]
        return value

    def close(self, code: str) -> Row:
        return self.call("close_account", code)

    # -- movements ------------------------------------------------------------------
    def transfer(
        self, key: str, src: str, dst: str, amount: int | None, metadata: Any = None
    ) -> Row:
        return self.call("transfer", key, src, dst, amount, Jsonb(metadata or {}))

    def post(
        self,
        key: str,
        legs: Legs | Any,
        metadata: Any = None,
        pending: bool = False,
        expires_at: datetime | None = None,
    ) -> Row:
        """post_entry; legs as [(code, amount), ...] or any raw JSON value."""
        if isinstance(legs, list) and all(isinstance(leg, tuple) for leg in legs):
            payload = legs_json(legs)
        else:
            payload = Jsonb(legs)
        return self.call("post_entry", key, payload, Jsonb(metadata or {}), pending, expires_at)

    def hold(
        self,
        key: str,
        src: str,
        dst: str,
        amount: int | None,
        expires_at: datetime | None = None,
        metadata: Any = None,
    ) -> Row:
        return self.call("hold", key, src, dst, amount, expires_at, Jsonb(metadata or {}))

    def capture(self, entry_id: int, amount: int | None = None) -> Row:
        return self.call("capture", entry_id, amount)

    def void(self, entry_id: int) -> Row:
        return self.call("void", entry_id)

    def reverse(
        self, key: str, entry_id: int, amount: int | None = None, metadata: Any = None
    ) -> Row:
        return self.call("reverse", key, entry_id, amount, Jsonb(metadata or {}))

    def expire_holds(self, everywhere: bool = False) -> int:
        value: int = self.scalar(
            "SELECT ledger.expire_holds(%s) AS n", (None if everywhere else self.tenant,)
        )
        return value

    # -- reading --------------------------------------------------------------------
    def entry(self, entry_id: int) -> Row:
        return self.call("get_entry", entry_id)

    def legs(self, entry_id: int) -> dict[str, int]:
        return {leg["account"]: leg["amount"] for leg in self.entry(entry_id)["legs"]}

    def balance_at(self, code: str, at: datetime) -> int:
        value: int = self.scalar(
            "SELECT ledger.balance_at(%s, %s, %s) AS b", (self.tenant, code, at)
        )
        return value

    def statement(self, code: str, since: Any = "-infinity", until: Any = "infinity") -> list[Row]:
        return self.rows(
            "SELECT * FROM ledger.statement(%s, %s, %s, %s)", (self.tenant, code, since, until)
        )

    def verify(self, everywhere: bool = False) -> list[Row]:
        return self.rows(
            "SELECT * FROM ledger.verify(%s)", (None if everywhere else self.tenant,)
        )

    # -- set-up helpers ---------------------------------------------------------------
    def world(self, currency: str = "EUR") -> str:
        """An account without floor or ceiling to fund others from."""
        code = f"world-{currency.lower()}"
        self.open(code, currency, None, None)
        return code

    def fund(self, code: str, amount: int) -> Row:
        currency = self.account(code)["currency"]
        return self.transfer(new_key(), self.world(currency), code, amount)

    def state(self) -> tuple[Any, ...]:
        """Everything a failed call could have touched in this tenant."""
        entries = self.rows(
            "SELECT entry_id, idempotency_key, status, amount, reversed_amount, reverses_entry_id"
            " FROM ledger.entry WHERE tenant_id = %s ORDER BY entry_id",
            (self.tenant,),
        )
        postings = self.scalar(
            "SELECT count(*) AS n FROM ledger.posting WHERE tenant_id = %s", (self.tenant,)
        )
        # Balances as the API reports them (however they are stored), plus closed_at.
        accounts = self.rows(
            "SELECT g.*, a.closed_at FROM ledger.account AS a,"
            " LATERAL ledger.get_account(a.tenant_id, a.code) AS g"
            " WHERE a.tenant_id = %s ORDER BY a.code",
            (self.tenant,),
        )
        return (tuple(map(str, entries)), postings, tuple(map(str, accounts)))

    def key_exists(self, key: str) -> bool:
        return bool(
            self.scalar(
                "SELECT count(*) AS n FROM ledger.entry WHERE tenant_id = %s"
                " AND idempotency_key = %s",
                (self.tenant, key),
            )
        )

    def entry_id(self, key: str) -> int:
        value: int = self.scalar(
            "SELECT entry_id FROM ledger.entry WHERE tenant_id = %s AND idempotency_key = %s",
            (self.tenant, key),
        )
        return value
