"""Races on real parallel connections released together (threading.Barrier).

No call of the contract may surface 40P01 or 40001: every outcome below is either a
result or one of the documented PB codes.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from tests.helpers.barrier import assert_raced, run_parallel, sqlstates
from tests.kernel.support import Ledger, legs_json, new_key

pytestmark = pytest.mark.concurrency

Conn = psycopg.Connection[Any]
ENTRY = "SELECT entry_id, status, replayed FROM ledger."
# One key from many connections: the first call stays uncommitted this long (run_parallel).
LINGER = 0.02


@pytest.mark.parametrize(("move", "n"), [("transfer", 40), ("hold", 24)])
def test_racing_moves_take_exactly_the_affordable_number(
    ab: Ledger, kernel_dsn: str, move: str, n: int
) -> None:
    """Transfers and holds of 100 out of 1000 from n connections: ten succeed, the rest get
    PB001, and the account never overdraws (a hold reserves: pending_out, not balance)."""

    def spend(conn: Conn, i: int) -> Any:
        sql = ENTRY + move + "(%s, %s, 'a', 'b', 100)"
        return conn.execute(sql, (ab.tenant, f"{move}-{i}")).fetchone()

    outcomes = run_parallel(kernel_dsn, n, spend)
    assert_raced(outcomes)
    assert sqlstates(outcomes) == Counter({"ok": 10, "PB001": n - 10})
    a, b = ab.account("a"), ab.account("b")
    if move == "transfer":
        assert (a["balance"], b["balance"]) == (0, 1000)
    else:
        assert (a["balance"], a["pending_out"], a["available"]) == (1000, 1000, 0)
        assert b["pending_in"] == 1000


def test_one_key_from_forty_connections_makes_one_entry(ab: Ledger, kernel_dsn: str) -> None:
    def pay(conn: Conn, i: int) -> Any:
        sql = ENTRY + "transfer(%s, 'same-key', 'a', 'b', 100, %s)"
        return conn.execute(sql, (ab.tenant, f'{{"try": {i}}}')).fetchone()

    outcomes = run_parallel(kernel_dsn, 40, pay, linger=LINGER)
    assert_raced(outcomes)
    assert sqlstates(outcomes) == Counter({"ok": 40})
    rows = [o.value for o in outcomes]
    assert len({r[0] for r in rows}) == 1  # type: ignore[index]
    assert sorted(r[2] for r in rows) == [False] + [True] * 39  # type: ignore[index]
    assert ab.balance("b") == 100
    assert ab.scalar(
        "SELECT count(*) AS n FROM ledger.entry WHERE tenant_id = %s AND idempotency_key"
        " = 'same-key'", (ab.tenant,)
    ) == 1  # fmt: skip


def test_opposite_directions_never_deadlock(ledger: Ledger, kernel_dsn: str) -> None:
    for code in ("a", "b", "c"):
        ledger.open(code)
        ledger.fund(code, 100_000)
    rounds = 25

    def churn(conn: Conn, i: int) -> int:
        for r in range(rounds):
            key = f"churn-{i}-{r}"
            if (i + r) % 3 == 0:
                conn.execute(ENTRY + "transfer(%s, %s, 'a', 'b', 7)", (ledger.tenant, key))
            elif (i + r) % 3 == 1:
                conn.execute(ENTRY + "transfer(%s, %s, 'b', 'a', 5)", (ledger.tenant, key))
            else:  # three accounts, legs listed in the "wrong" order
                legs = legs_json([("c", -3), ("b", 1), ("a", 2)] if r % 2 else
                                 [("a", -2), ("c", 1), ("b", 1)])  # fmt: skip
                conn.execute(ENTRY + "post_entry(%s, %s, %s)", (ledger.tenant, key, legs))
        return rounds

    outcomes = run_parallel(kernel_dsn, 8, churn)
    assert_raced(outcomes)
    assert sqlstates(outcomes) == Counter({"ok": 8})  # no 40P01, no 40001
    total = sum(ledger.balance(code) for code in ("a", "b", "c"))
    assert total == 300_000
    assert ledger.scalar(
        "SELECT count(*) AS n FROM ledger.entry WHERE tenant_id = %s AND idempotency_key"
        " LIKE 'churn-%%'", (ledger.tenant,)
    ) == 8 * rounds  # fmt: skip
    assert ledger.verify() == []


def test_capture_versus_void_has_one_winner(ledger: Ledger, kernel_dsn: str) -> None:
    ledger.open("a")
    ledger.open("b")
    ledger.fund("a", 10_000)
    waited: set[int] = set()
    for _ in range(5):
        hold = ledger.hold(new_key(), "a", "b", 100)["entry_id"]

        def race(conn: Conn, i: int, hold: int = hold) -> Any:
            if i % 2:
                return conn.execute(ENTRY + "void(%s, %s)", (ledger.tenant, hold)).fetchone()
            sql = ENTRY + "capture(%s, %s, %s)"
            return conn.execute(sql, (ledger.tenant, hold, 60 if i == 0 else None)).fetchone()

        outcomes = run_parallel(kernel_dsn, 4, race)
        waited |= outcomes.waiters
        fresh = [o for o in outcomes if o.ok and o.value[2] is False]  # type: ignore[index]
        assert len(fresh) == 1, outcomes
        winner = fresh[0].value[1]  # type: ignore[index]
        status = ledger.entry(hold)["status"]
        assert status == winner
        # The losing side gets PB004; same-side runners-up are replays (or PB003 when a capture
        # with another amount lost to a capture).
        for o in outcomes:
            side = "voided" if o.index % 2 else "posted"
            if side != winner:
                assert o.sqlstate == "PB004", o
            elif o is not fresh[0]:
                assert o.sqlstate in ("ok", "PB003"), o
                assert not o.ok or o.value[2] is True  # type: ignore[index]
        assert ledger.account("a")["pending_out"] == 0
    assert waited, "in five rounds no capture or void waited for another"
    assert ledger.verify() == []


def test_concurrent_partial_reversals_never_exceed_the_original(
    ab: Ledger, kernel_dsn: str
) -> None:
    original = ab.transfer("orig", "a", "b", 1000)["entry_id"]

    def undo(conn: Conn, i: int) -> Any:
        sql = ENTRY + "reverse(%s, %s, %s, 100)"
        return conn.execute(sql, (ab.tenant, f"undo-{i}", original)).fetchone()

    outcomes = run_parallel(kernel_dsn, 20, undo)
    assert_raced(outcomes)
    counts = sqlstates(outcomes)
    assert counts["ok"] == 10 and counts["ok"] + counts["PB004"] + counts["PB002"] == 20, counts
    assert ab.entry(original)["status"] == "reversed"
    assert (ab.balance("a"), ab.balance("b")) == (1000, 0)


def test_statement_under_contention_only_shows_real_balances(
    ledger: Ledger, kernel_dsn: str
) -> None:
    """Many connections move money in and out of a floored account; its statement's running
    balance never dips below the floor and adds up, line by line, to the balance."""
    ledger.open("a")
    ledger.open("b")
    ledger.fund("a", 100)
    ledger.fund("b", 100_000)

    def churn(conn: Conn, i: int) -> int:
        failed = 0
        for r in range(10):
            src, dst, amount = ("a", "b", 60) if (i + r) % 2 else ("b", "a", 40)
            try:
                conn.execute(
                    ENTRY + "transfer(%s, %s, %s, %s, %s)",
                    (ledger.tenant, f"s-{i}-{r}", src, dst, amount),
                )
            except psycopg.Error as e:
                assert e.sqlstate == "PB001", e
                failed += 1
        return failed

    outcomes = run_parallel(kernel_dsn, 8, churn)
    assert_raced(outcomes)
    assert sqlstates(outcomes) == Counter({"ok": 8})
    lines = ledger.statement("a")
    running = 0
    for line in lines:
        running += line["amount"]
        assert line["balance_after"] == running >= 0
    assert running == ledger.balance("a")
    for line in lines:
        assert ledger.balance_at("a", line["posted_at"]) == line["balance_after"]


def test_expiry_and_void_release_each_hold_once(ab: Ledger, kernel_dsn: str) -> None:
    past = ab.now() - timedelta(seconds=1)
    holds = [ab.hold(new_key(), "a", "b", 10 + i, expires_at=past)["entry_id"] for i in range(12)]

    def release(conn: Conn, i: int) -> Any:
        if i < 4:
            return conn.execute("SELECT ledger.expire_holds(%s)", (ab.tenant,)).fetchone()
        hold = holds[(i - 4) * 3 % len(holds)]
        return conn.execute(ENTRY + "void(%s, %s)", (ab.tenant, hold)).fetchone()

    outcomes = run_parallel(kernel_dsn, 8, release)
    assert_raced(outcomes)
    assert sqlstates(outcomes) == Counter({"ok": 8})
    expired = sum(o.value[0] for o in outcomes[:4])  # type: ignore[index]
    voided = sum(1 for o in outcomes[4:] if o.value[2] is False)  # type: ignore[index]
    assert expired + voided == len(holds)
    assert {ab.entry(h)["status"] for h in holds} == {"voided"}
    a = ab.account("a")
    assert (a["pending_out"], a["available"]) == (0, 1000)
