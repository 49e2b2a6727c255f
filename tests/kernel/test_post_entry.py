"""ledger.post_entry: multi-leg and multi-currency entries, malformed legs, pending entries."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kernel.support import Ledger, new_key, raises


@pytest.fixture
def book(ledger: Ledger) -> Ledger:
    for code in ("a", "b", "c"):
        ledger.open(code)
    ledger.open("x", "USD")
    ledger.open("y", "USD")
    ledger.fund("a", 1000)
    ledger.fund("x", 500)
    return ledger


def test_multi_leg_entry(book: Ledger) -> None:
    row = book.post("e1", [("a", -100), ("b", 60), ("c", 40)], {"invoice": 7})
    assert row["status"] == "posted" and row["replayed"] is False
    assert [book.balance(c) for c in "abc"] == [900, 60, 40]
    assert book.legs(row["entry_id"]) == {"a": -100, "b": 60, "c": 40}
    # The same legs in another order are the same movement.
    again = book.post("e1", [("c", 40), ("a", -100), ("b", 60)], {"invoice": 8})
    assert again == {**row, "replayed": True}
    with raises("PB003"):
        book.post("e1", [("a", -100), ("b", 50), ("c", 50)])


def test_multi_currency_balanced_per_currency(book: Ledger) -> None:
    row = book.post("fx", [("a", -100), ("b", 100), ("x", -80), ("y", 80)])
    assert row["status"] == "posted"
    assert [book.balance(c) for c in ("a", "b", "x", "y")] == [900, 100, 420, 80]


@pytest.mark.parametrize(
    "legs",
    [
        [("a", -100), ("b", 99)],  # sums to -1
        [("a", -100), ("x", 100)],  # sums to 0 overall, not per currency
        [("a", -100), ("b", 50), ("x", -50), ("y", 100)],
    ],
)
def test_unbalanced_is_22023(book: Ledger, legs: list[tuple[str, int]]) -> None:
    before = book.state()
    with raises("22023"):
        book.post("e1", legs)
    assert book.state() == before
    assert book.post("e1", [("a", -1), ("b", 1)])["replayed"] is False


def test_unbalanced_per_currency_beats_known_key(book: Ledger) -> None:
    """Check order: malformed input (22023) before the key is looked at (PB003)."""
    book.post("e1", [("a", -1), ("b", 1)])
    with raises("22023"):
        book.post("e1", [("a", -100), ("x", 100)])


@pytest.mark.parametrize(
    "legs",
    [
        None,
        {"account": "a", "amount": -1},
        [],
        [{"account": "a", "amount": -1}],  # one leg
        [{"account": "a", "amount": 0}, {"account": "b", "amount": 0}],
        [{"account": "a", "amount": -1}, {"account": "b", "amount": "1"}],
        [{"account": "a", "amount": -1.5}, {"account": "b", "amount": 1.5}],
        [{"account": "a", "amount": -1}, {"account": "b"}],
        [{"account": "a", "amount": -1}, {"amount": 1}],
        [{"account": "a", "amount": -1}, {"account": 7, "amount": 1}],
        [{"account": "a", "amount": -1}, {"account": "", "amount": 1}],
        [{"account": "a", "amount": -1}, {"account": "pgb:b", "amount": 1}],
        [{"account": "a", "amount": -1}, ["b", 1]],
        [{"account": "a", "amount": -1e30}, {"account": "b", "amount": 1e30}],
        [{"account": "a", "amount": -1}, {"account": "b", "amount": None}],
        # the same account twice
        [
            {"account": "a", "amount": -2},
            {"account": "b", "amount": 1},
            {"account": "a", "amount": 1},
        ],
        [{"account": "a", "amount": -1}, {"account": "a", "amount": 1}],
    ],
)
def test_malformed_legs_are_22023(book: Ledger, legs: Any) -> None:
    before = book.state()
    with raises("22023"):
        book.post("e1", legs)
    assert book.state() == before


def test_positive_sum_overflow_is_22023(book: Ledger) -> None:
    big = 9_223_372_036_854_775_807
    with raises("22023"):
        book.post(new_key(), [("a", -big), ("b", big), ("c", big), (book.world(), -big)])


def test_more_than_1000_legs_is_22023(book: Ledger) -> None:
    # Checked before any account lookup: the codes need not exist.
    legs = [(f"leg{i}", 1 if i % 2 else -1) for i in range(1002)]
    before = book.state()
    with raises("22023"):
        book.post(new_key(), legs)
    assert book.state() == before


def test_pending_entry_is_a_hold(book: Ledger) -> None:
    row = book.post("h1", [("a", -100), ("b", 70), ("c", 30)], pending=True)
    assert row["status"] == "pending"
    a, b = book.account("a"), book.account("b")
    assert (a["balance"], a["pending_out"], a["available"]) == (1000, 100, 900)
    assert (b["balance"], b["pending_in"]) == (0, 70)
    assert book.legs(row["entry_id"]) == {"a": -100, "b": 70, "c": 30}
    with raises("PB003"):  # the pending flag is part of the parameters
        book.post("h1", [("a", -100), ("b", 70), ("c", 30)])
    with raises("22023"):  # partial capture only for two-leg holds
        book.capture(row["entry_id"], 50)
    captured = book.capture(row["entry_id"])
    assert captured == {"entry_id": row["entry_id"], "status": "posted", "replayed": False}
    assert [book.balance(c) for c in "abc"] == [900, 70, 30]
    assert book.account("a")["pending_out"] == 0
    assert book.capture(row["entry_id"], 100)["replayed"] is True


def test_two_legs_in_either_order_are_the_same_movement(book: Ledger) -> None:
    """Keys are shared by transfer and post_entry; the legs are compared as a set."""
    moved = book.transfer("t1", "a", "b", 100)
    assert book.post("t1", [("b", 100), ("a", -100)]) == {**moved, "replayed": True}
    assert book.post("t1", [("a", -100), ("b", 100)])["replayed"] is True
    with raises("PB003"):
        book.post("t1", [("a", 100), ("b", -100)])
    entry = book.post("e2", [("c", 5), ("a", -5)])
    assert book.transfer("e2", "a", "c", 5) == {**entry, "replayed": True}
    with raises("PB003"):
        book.transfer("e2", "c", "a", 5)
