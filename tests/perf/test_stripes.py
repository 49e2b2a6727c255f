"""Striped hot accounts (ledger.set_account_stripes, docs/performance.md): an account with no
floor and no ceiling may spread its amounts over stripe rows, summed on read; balance,
pending, statement, balance_at and verify stay exact; concurrent movements into one hot
account are all applied without queueing on its row; an account with a limit is never
striped; stripes are guarded like balances."""

from __future__ import annotations

from collections import Counter
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.helpers.barrier import Outcomes, run_parallel
from tests.kernel.support import Ledger, detail, new_key, raises


def stripes(book: Ledger, code: str) -> list[dict[str, Any]]:
    return book.rows(
        "SELECT s.stripe_no, s.balance, s.pending_out, s.pending_in FROM ledger.account_stripe s"
        " JOIN ledger.account a USING (tenant_id, account_id)"
        " WHERE s.tenant_id = %s AND a.code = %s ORDER BY s.stripe_no", (book.tenant, code))


@pytest.fixture
def hot(ledger: Ledger) -> Ledger:
    """rev: no floor, no ceiling, striped over 8 rows; a and b: 10,000 each."""
    ledger.open("rev", "EUR", None, None)
    assert ledger.call("set_account_stripes", "rev", 8)["code"] == "rev"
    for code in ("a", "b"):
        ledger.open(code)
        ledger.fund(code, 10_000)
    return ledger


def test_only_an_account_without_limits_can_be_striped(ledger: Ledger) -> None:
    ledger.open("floor")
    ledger.open("ceiling", "EUR", None, 100)
    ledger.open("free", "EUR", None, None)
    for code in ("floor", "ceiling"):
        with raises("PB004") as info:
            ledger.call("set_account_stripes", code, 4)
        assert detail(info)["account"] == code
    for bad in (0, 65, None):
        with raises("22023"):
            ledger.call("set_account_stripes", "free", bad)
    with raises("PB005"):
        ledger.call("set_account_stripes", "nobody", 4)
    assert ledger.call("set_account_stripes", "free", 4)["balance"] == 0
    assert ledger.call("set_account_stripes", "free", 2)["balance"] == 0  # may change, not to 0
    ledger.transfer(new_key(), ledger.world(), "floor", 5)
    ledger.transfer(new_key(), "floor", "free", 5)
    assert stripes(ledger, "floor") == []
    # the catalog refuses it too (a limit and stripes on one row)
    with raises("23514"):
        ledger.conn.execute("UPDATE ledger.account SET stripes = 2 WHERE tenant_id = %s"
                            " AND code = 'floor'", (ledger.tenant,))  # fmt: skip


def test_balances_statement_balance_at_and_verify_stay_exact(hot: Ledger) -> None:
    marks = []
    expected = 0
    for amount in (100, 250, 75):
        hot.transfer(new_key(), "a", "rev", amount)
        expected += amount
        marks.append((hot.now(), expected))
    hot.transfer("out", "rev", "b", 40)
    expected -= 40
    held = hot.hold("held", "rev", "b", 30)["entry_id"]
    incoming = hot.hold("incoming", "a", "rev", 20)["entry_id"]
    account = hot.account("rev")
    assert (account["balance"], account["pending_out"], account["pending_in"],
            account["available"]) == (expected, 30, 20, expected - 30)  # fmt: skip
    hot.capture(incoming, 15)
    hot.void(held)
    hot.reverse("back", hot.entry_id("out"))
    expected += 15 + 40
    account = hot.account("rev")
    assert (account["balance"], account["pending_out"], account["pending_in"]) == (expected, 0, 0)
    assert len(stripes(hot, "rev")) > 1  # the movements landed on several rows
    assert sum(s["balance"] for s in stripes(hot, "rev")) == expected
    lines = hot.statement("rev")
    assert [line["balance_after"] for line in lines] == [100, 350, 425, 385, 400, 440]
    for at, balance in marks:
        assert hot.balance_at("rev", at) == balance
    assert hot.balance_at("rev", hot.now()) == expected
    assert hot.verify() == []


def test_close_sums_the_stripes(hot: Ledger) -> None:
    hot.transfer(new_key(), "a", "rev", 100)
    with raises("PB004") as info:
        hot.close("rev")
    assert detail(info)["balance"] == "100"
    hot.transfer(new_key(), "rev", "b", 100)
    assert hot.close("rev")["closed"] is True
    with raises("PB007"):
        hot.transfer(new_key(), "a", "rev", 1)


def test_expired_holds_on_striped_accounts_are_released(hot: Ledger) -> None:
    hot.open("rev2", "EUR", None, None)
    hot.call("set_account_stripes", "rev2", 3)
    for dst in ("rev", "rev2", "rev", "b"):
        hot.hold(new_key(), "a", dst, 10, hot.now())  # already expired
    assert hot.expire_holds() == 4
    for code in ("rev", "rev2", "a"):
        assert (hot.account(code)["pending_in"], hot.account(code)["pending_out"]) == (0, 0)
    assert hot.verify() == []


# What a queue on one account row looks like to run_parallel's probe: waiters for its tuple.
ROW_QUEUE = ("tuple", "ledger.account")


def into_one_account(book: Ledger, dsn: str, code: str) -> Outcomes[int]:
    """20 connections released together, each moving 10 times between its own account and
    `code` (9 in, 1 out): `code` is the only account row they share."""
    for i in range(20):
        book.open(f"own{i}")
        book.fund(f"own{i}", 1000)

    def work(conn: psycopg.Connection[Any], i: int) -> int:
        total = 0
        for n in range(10):
            own = f"own{i}"
            src, dst, amount = (code, own, 1) if n == 9 else (own, code, 1 + n)
            conn.execute("SELECT * FROM ledger.transfer(%s, %s, %s, %s, %s)",
                         (book.tenant, f"c{i}-{n}", src, dst, amount))  # fmt: skip
            total += amount if dst == code else -amount
        return total

    return run_parallel(dsn, 20, work, timeout=120)


@pytest.mark.concurrency
def test_concurrent_transfers_into_a_hot_account_are_all_applied(
    hot: Ledger, kernel_dsn: str
) -> None:
    """Every one applied exactly once, verify clean, and none waited on the account's row
    (waits on a stripe row two transactions happened to share are allowed)."""
    outcomes = into_one_account(hot, kernel_dsn, "rev")
    assert Counter(o.sqlstate for o in outcomes) == Counter({"ok": 20})
    expected = sum(o.value or 0 for o in outcomes)
    assert expected == 20 * (45 - 1)
    assert hot.balance("rev") == expected
    assert sum(hot.balance(f"own{i}") for i in range(20)) + expected == 20_000
    assert hot.scalar("SELECT count(*) AS n FROM ledger.entry WHERE tenant_id = %s"
                      " AND idempotency_key LIKE 'c%%-%%'", (hot.tenant,)) == 200  # fmt: skip
    assert len(stripes(hot, "rev")) > 1
    queued = [w for w in outcomes.waits if (w.locktype, w.relation) == ROW_QUEUE]
    assert queued == [], f"movements into the striped account queued on one row: {queued[:3]}"
    assert hot.verify() == []


@pytest.mark.concurrency
def test_the_same_movements_into_an_unstriped_account_queue_on_its_row(
    ledger: Ledger, kernel_dsn: str
) -> None:
    """The control of the test above: without stripes the probe sees the queue on the row."""
    ledger.open("flat", "EUR", None, None)
    outcomes = into_one_account(ledger, kernel_dsn, "flat")
    assert Counter(o.sqlstate for o in outcomes) == Counter({"ok": 20})
    assert any((w.locktype, w.relation) == ROW_QUEUE for w in outcomes.waits), outcomes.waits
    assert ledger.verify() == []


@pytest.mark.concurrency
def test_opposite_movements_between_striped_and_limited_accounts_never_deadlock(
    hot: Ledger, kernel_dsn: str
) -> None:
    hot.open("rev2", "EUR", None, None)
    hot.call("set_account_stripes", "rev2", 2)
    hot.transfer(new_key(), hot.world(), "rev2", 10_000)
    hot.transfer(new_key(), hot.world(), "rev", 10_000)
    pairs = [("a", "rev"), ("rev", "a"), ("rev", "rev2"), ("rev2", "rev"), ("b", "rev2"),
             ("rev2", "b"), ("a", "b"), ("b", "a")]  # fmt: skip

    def work(conn: psycopg.Connection[Any], i: int) -> None:
        for n in range(8):
            src, dst = pairs[(i + n) % len(pairs)]
            third = next(c for c in ("b", "a", "rev2", "rev") if c not in (src, dst))
            legs = Jsonb([{"account": src, "amount": -3}, {"account": dst, "amount": 2},
                          {"account": third, "amount": 1}])
            conn.execute("SELECT * FROM ledger.post_entry(%s, %s, %s)",
                         (hot.tenant, f"x{i}-{n}", legs))  # fmt: skip

    outcomes = run_parallel(kernel_dsn, 16, work, timeout=120)
    assert Counter(o.sqlstate for o in outcomes) == Counter({"ok": 16})
    assert hot.verify() == []


def test_stripes_are_guarded_like_balances(own: Ledger) -> None:
    own.open("rev", "EUR", None, None)
    own.call("set_account_stripes", "rev", 2)
    own.open("a")
    own.fund("a", 50)
    own.transfer(new_key(), "a", "rev", 50)
    t = {"t": own.tenant}
    for statement in (
        "UPDATE ledger.account_stripe SET balance = balance + 1 WHERE tenant_id = %(t)s",
        "UPDATE ledger.account_stripe SET stripe_no = stripe_no + 10 WHERE tenant_id = %(t)s",
        "DELETE FROM ledger.account_stripe WHERE tenant_id = %(t)s",
        "DELETE FROM ledger.account_stripe WHERE false",
        "TRUNCATE ledger.account_stripe",
        "INSERT INTO ledger.account_stripe (tenant_id, account_id, stripe_no, balance)"
        " SELECT tenant_id, account_id, 9, 5 FROM ledger.account"
        " WHERE tenant_id = %(t)s AND code = 'rev'",
    ):
        with raises("PB009"):
            own.conn.execute(statement, t)
    assert own.verify() == []


def test_verify_sees_damaged_stripes(own: Ledger) -> None:
    """The superuser's repair door (replica role) bypasses the guards; verify notices."""
    own.open("rev", "EUR", None, None)
    own.call("set_account_stripes", "rev", 2)
    own.open("plain", "EUR", None, None)
    own.open("a")
    own.fund("a", 50)
    own.transfer(new_key(), "a", "rev", 50)
    assert own.verify() == []
    with own.conn.transaction(force_rollback=True):
        own.conn.execute("SET LOCAL session_replication_role = replica")
        own.conn.execute("UPDATE ledger.account_stripe SET balance = balance + 7"
                         " WHERE tenant_id = %s", (own.tenant,))  # fmt: skip
        assert {v["check_name"] for v in own.verify()} == {"balance_mismatch"}
        assert own.balance("rev") == 57
    with own.conn.transaction(force_rollback=True):
        own.conn.execute("SET LOCAL session_replication_role = replica")
        own.conn.execute("INSERT INTO ledger.account_stripe (tenant_id, account_id, stripe_no)"
                         " SELECT tenant_id, account_id, 0 FROM ledger.account"
                         " WHERE tenant_id = %s AND code IN ('plain', 'a')", (own.tenant,))
        found = {(v["check_name"], v["subject"]) for v in own.verify()}
        assert found == {("stripes_not_allowed", "plain"), ("stripes_not_allowed", "a")}
    assert own.verify() == []


def test_the_client_stripes_an_account(kernel_dsn: str, tenant: str) -> None:
    from pgbalance.client import Client
    from pgbalance.errors import InvalidState

    with Client(kernel_dsn) as client:
        client.open_account(tenant, "rev", "EUR", None, None)
        client.open_account(tenant, "limited", "EUR")
        assert client.set_account_stripes(tenant, "rev", 4).code == "rev"
        with pytest.raises(InvalidState):
            client.set_account_stripes(tenant, "limited", 4)
