"""Shared by the step-by-step incident tests (tests/workflows/test_*_incident.py): the
pg_blocking_pids probe. (The scratch schema the unprotected pattern runs in is
pgbalance.harness.naive.installed, as in the incidents.)"""

from __future__ import annotations

from typing import Any

import psycopg


def blocked_by(conn: psycopg.Connection[Any], waiter: int, holder: int) -> bool:
    """Whether backend `waiter` is waiting on a lock held by backend `holder`."""
    row = conn.execute("SELECT %s = ANY (pg_blocking_pids(%s))", (holder, waiter)).fetchone()
    return bool(row and row[0])
