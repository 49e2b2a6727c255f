"""Shared by the DBA tests: schema dumps to compare, data to put in, snapshots of it."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from pgbalance import docgen

# yoyo's bookkeeping tables (in public): not part of the schema pgbalance installs.
YOYO_TABLES = ("_yoyo*", "yoyo_lock")


def database_dump(dsn: str) -> str:
    """Normalized schema-only dump of the whole database, yoyo's own tables left out."""
    args = [pg_arg for pattern in YOYO_TABLES for pg_arg in ("--exclude-table", pattern)]
    raw = docgen.dump_schema(dsn, schemas=[], extra_args=args)
    return docgen.normalize_dump(raw)


def kernel_dump(dsn: str) -> str:
    """Normalized schema-only dump of the pgbalance schemas (what docs/schema.sql holds)."""
    return docgen.normalize_dump(docgen.dump_schema(dsn))


def put_ledger_data(conn: psycopg.Connection[Any], tenant: str) -> None:
    """Accounts, transfers, a pending hold, a captured hold and a reversal, through the
    ledger's SQL API as it is at the pinned upgrade commit (and ever since: the contract)."""
    q = conn.execute
    q("SELECT * FROM ledger.open_account(%s, 'bank', 'EUR', NULL)", (tenant,))
    q("SELECT * FROM ledger.open_account(%s, 'alice', 'EUR')", (tenant,))
    q("SELECT * FROM ledger.open_account(%s, 'bob', 'EUR', 0, 1000000)", (tenant,))
    q("SELECT * FROM ledger.transfer(%s, 'fund', 'bank', 'alice', 50000, '{\"memo\": 1}')",
      (tenant,))  # fmt: skip
    q("SELECT * FROM ledger.transfer(%s, 'pay-1', 'alice', 'bob', 1200)", (tenant,))
    row = q("SELECT entry_id FROM ledger.transfer(%s, 'pay-2', 'alice', 'bob', 800)",
            (tenant,)).fetchone()  # fmt: skip
    assert row is not None
    q("SELECT * FROM ledger.reverse(%s, 'pay-2-undo', %s, 300)", (tenant, row[0]))
    q("SELECT * FROM ledger.hold(%s, 'hold-open', 'alice', 'bob', 700)", (tenant,))
    hold = q("SELECT entry_id FROM ledger.hold(%s, 'hold-cap', 'alice', 'bob', 900)",
             (tenant,)).fetchone()  # fmt: skip
    assert hold is not None
    q("SELECT * FROM ledger.capture(%s, %s, 400)", (tenant, hold[0]))
    q("SELECT * FROM ledger.post_entry(%s, 'multi', %s)",
      (tenant, json.dumps([{"account": "bank", "amount": -30}, {"account": "alice", "amount": 20},
                           {"account": "bob", "amount": 10}])))  # fmt: skip


LEDGER_TABLES = {
    "ledger.account": "tenant_id, account_id",
    "ledger.entry": "tenant_id, entry_id",
    "ledger.posting": "tenant_id, entry_id, posting_no",
}


def ledger_rows(conn: psycopg.Connection[Any]) -> dict[str, list[dict[str, Any]]]:
    """Every row of the ledger tables as JSON objects, in primary-key order."""
    return {
        table: [r[0] for r in conn.execute(
            f"SELECT to_jsonb(t) FROM {table} AS t ORDER BY {order}").fetchall()]
        for table, order in LEDGER_TABLES.items()
    }  # fmt: skip


def verify_rows(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT * FROM ledger.verify()").fetchall()
