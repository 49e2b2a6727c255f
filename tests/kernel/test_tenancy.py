"""Tenant isolation: accounts, entries and keys of one tenant are invisible to another."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kernel.support import Ledger, new_key, raises


@pytest.fixture
def pair(ledger: Ledger) -> Iterator[tuple[Ledger, Ledger]]:
    other = Ledger(ledger.conn, ledger.tenant + "-2")
    yield ledger, other
    assert other.verify() == []


def test_same_code_in_two_tenants_is_two_accounts(pair: tuple[Ledger, Ledger]) -> None:
    one, two = pair
    one.open("cash", "EUR", 0, None)
    two.open("cash", "USD", -100, 500)  # another definition: not a conflict
    two.open("shop", "USD")
    one.open("shop", "EUR")
    one.fund("cash", 300)
    one.transfer("k1", "cash", "shop", 100)
    assert (one.balance("cash"), one.balance("shop")) == (200, 100)
    assert (two.balance("cash"), two.balance("shop")) == (0, 0)
    assert two.account("cash")["currency"] == "USD"
    # The same key in the other tenant is a new movement, not a replay or conflict.
    row = two.transfer("k1", "cash", "shop", 100)
    assert row["replayed"] is False
    assert two.account("cash")["available"] == -100


def test_entries_of_one_tenant_are_pb005_in_another(pair: tuple[Ledger, Ledger]) -> None:
    one, two = pair
    for book in pair:
        book.open("a")
        book.open("b")
    one.fund("a", 100)
    moved = one.transfer(new_key(), "a", "b", 50)
    hold = one.hold(new_key(), "a", "b", 20)
    before = (one.state(), two.state())
    with raises("PB005"):
        two.entry(moved["entry_id"])
    with raises("PB005"):
        two.capture(hold["entry_id"])
    with raises("PB005"):
        two.void(hold["entry_id"])
    with raises("PB005"):
        two.reverse(new_key(), moved["entry_id"])
    assert (one.state(), two.state()) == before
    assert one.entry(moved["entry_id"])["status"] == "posted"


def test_accounts_of_one_tenant_are_pb005_in_another(pair: tuple[Ledger, Ledger]) -> None:
    one, two = pair
    one.open("only-here")
    two.open("mine")
    two.fund("mine", 10)
    for call in (
        lambda: two.account("only-here"),
        lambda: two.close("only-here"),
        lambda: two.transfer(new_key(), "mine", "only-here", 1),
        lambda: two.statement("only-here"),
        lambda: two.balance_at("only-here", two.now()),
    ):
        with raises("PB005"):
            call()


def test_verify_is_scoped_to_the_tenant(pair: tuple[Ledger, Ledger]) -> None:
    one, two = pair
    one.open("a")
    two.open("a")
    one.fund("a", 10)
    with one.conn.transaction(force_rollback=True):
        one.rows("SET LOCAL session_replication_role = replica")
        one.rows(
            "UPDATE ledger.account SET balance = balance + 1 WHERE tenant_id = %s AND code = 'a'",
            (one.tenant,),
        )
        assert [v["check_name"] for v in one.verify()] == ["balance_mismatch"]
        assert two.verify() == []
        assert {v["tenant"] for v in one.verify(everywhere=True)} == {one.tenant}
