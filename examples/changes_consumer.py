"""A change-feed consumer (docs/changes.md): it records a notice per change of one tenant in
its own table, and keeps its cursor beside it, in the same transaction, so a crash at any
point repeats nothing and loses nothing. A cursor the feed refuses after a restart, a
failover or a Citus move (72000) makes it start over from NULL; repeats change nothing.

    python examples/changes_consumer.py DSN TENANT [--once]

Its tables live in a schema of its own (feed_example) in the pgbalance database; pgbalance's
own tables are never written. With side effects outside the database (e-mail, webhooks), the
same loop delivers at least once: key each effect by (entry_id, status) so the receiver can
ignore a repeat.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import psycopg

SETUP = """
CREATE SCHEMA IF NOT EXISTS feed_example;
CREATE TABLE IF NOT EXISTS feed_example.cursor (
    tenant text PRIMARY KEY,
    cursor text
);
CREATE TABLE IF NOT EXISTS feed_example.notice (
    tenant     text        NOT NULL,
    entry_id   bigint      NOT NULL,
    status     text        NOT NULL,
    changed_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, entry_id, status)
);
"""


def consume_page(conn: psycopg.Connection[Any], tenant: str, limit: int = 100) -> int:
    """Process one page in one transaction: read from the stored cursor, handle each row,
    store the last row's cursor. Returns how many rows it handled."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO feed_example.cursor (tenant) VALUES (%s) ON CONFLICT DO NOTHING",
            (tenant,),
        )
        # The row lock keeps two copies of this consumer from handling the same page.
        stored = conn.execute(
            "SELECT cursor FROM feed_example.cursor WHERE tenant = %s FOR UPDATE", (tenant,)
        ).fetchone()
        read = "SELECT cursor, entry_id, status, changed_at FROM ledger.changes(%s, %s, %s)"
        try:
            with conn.transaction():  # a savepoint: a refused read leaves the page usable
                rows = conn.execute(read, (tenant, stored[0] if stored else None, limit)).fetchall()
        except psycopg.errors.SnapshotTooOld:
            # 72000: the cursor was made on another server or before this one restarted
            # (docs/changes.md). Start over from NULL: the handler below ignores repeats.
            rows = conn.execute(read, (tenant, None, limit)).fetchall()
        for _, entry_id, status, changed_at in rows:
            # Idempotent by (entry_id, status): a repeat would change nothing.
            conn.execute(
                "INSERT INTO feed_example.notice VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (tenant, entry_id, status, changed_at),
            )
        if rows:
            conn.execute(
                "UPDATE feed_example.cursor SET cursor = %s WHERE tenant = %s",
                (rows[-1][0], tenant),
            )
    return len(rows)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    dsn, tenant, once = argv[0], argv[1], "--once" in argv[2:]
    with psycopg.connect(dsn) as conn:
        with conn.transaction():
            conn.execute(SETUP)
        while True:
            handled = consume_page(conn, tenant)
            if handled:
                print(f"handled {handled} changes")
                continue
            if once:
                return 0
            time.sleep(1.0)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
