"""ledger.transfer: effect, idempotency, limits, errors and the check order."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kernel.support import Ledger, detail, new_key, raises


def test_transfer_moves_money(ab: Ledger) -> None:
    row = ab.transfer("t1", "a", "b", 250, {"note": "rent"})
    assert row["status"] == "posted" and row["replayed"] is False
    assert (ab.balance("a"), ab.balance("b")) == (750, 250)
    entry = ab.entry(row["entry_id"])
    assert entry["idempotency_key"] == "t1"
    assert entry["legs"] == [{"account": "a", "amount": -250}, {"account": "b", "amount": 250}]
    assert entry["metadata"] == {"note": "rent"}


def test_replay_returns_same_entry_and_changes_nothing(ab: Ledger) -> None:
    first = ab.transfer("t1", "a", "b", 250, {"try": 1})
    before = ab.state()
    again = ab.transfer("t1", "a", "b", 250, {"try": 2})  # metadata does not count
    assert again == {**first, "replayed": True}
    assert ab.state() == before


@pytest.mark.parametrize(
    "params", [("a", "b", 251), ("b", "a", 250), ("a", "c", 250)], ids=["amount", "dir", "to"]
)
def test_same_key_different_parameters_is_pb003(
    ab: Ledger, params: tuple[str, str, int]
) -> None:
    ab.open("c")
    ab.transfer("t1", "a", "b", 250)
    before = ab.state()
    with raises("PB003"):
        ab.transfer("t1", *params)
    assert ab.state() == before


def test_same_key_as_a_hold_is_pb003(ab: Ledger) -> None:
    ab.transfer("t1", "a", "b", 250)
    with raises("PB003"):
        ab.hold("t1", "a", "b", 250)


def test_insufficient_funds_pb001_with_detail(ab: Ledger) -> None:
    ab.hold(new_key(), "a", "b", 100)  # pending debit counts against the floor
    before = ab.state()
    with raises("PB001") as info:
        ab.transfer("t1", "a", "b", 901)
    assert detail(info)["available"] == "900"
    assert detail(info)["requested"] == "901"
    assert detail(info)["pending"] == "100"
    assert ab.state() == before
    assert ab.transfer("t1", "a", "b", 900)["replayed"] is False  # key was not kept


def test_negative_floor_allows_overdraft_to_it(ledger: Ledger) -> None:
    ledger.open("credit", "EUR", -500)
    ledger.open("shop")
    ledger.transfer(new_key(), "credit", "shop", 500)
    assert ledger.account("credit")["available"] == -500
    with raises("PB001"):
        ledger.transfer(new_key(), "credit", "shop", 1)


def test_ceiling_pb002_counts_pending_credits(ab: Ledger) -> None:
    ab.open("capped", "EUR", 0, 500)
    ab.transfer(new_key(), "a", "capped", 300)
    ab.hold(new_key(), "a", "capped", 150)
    before = ab.state()
    with raises("PB002") as info:
        ab.transfer("t1", "a", "capped", 51)
    assert detail(info)["max_balance"] == "500"
    assert ab.state() == before
    ab.transfer("t1", "a", "capped", 50)
    assert ab.account("capped")["balance"] == 350


def test_huge_amount_is_a_limit_error_not_an_overflow(ab: Ledger) -> None:
    with raises("PB001"):
        ab.transfer(new_key(), "a", "b", 9_223_372_036_854_775_807)
    ab.open("sink", "EUR", None, None)
    ab.open("source", "EUR", None, None)
    ab.transfer(new_key(), "a", "sink", 1)
    with raises("PB002"):
        ab.transfer(new_key(), "source", "sink", 9_223_372_036_854_775_807)


def test_unknown_account_pb005(ab: Ledger) -> None:
    with raises("PB005"):
        ab.transfer(new_key(), "a", "ghost", 1)
    with raises("PB005"):
        ab.transfer(new_key(), "ghost", "b", 1)


def test_currency_mismatch_pb006(ab: Ledger) -> None:
    ab.open("usd", "USD")
    ab.fund("usd", 10)
    before = ab.state()
    with raises("PB006"):
        ab.transfer(new_key(), "a", "usd", 1)
    with raises("PB006"):
        ab.transfer(new_key(), "usd", "a", 1)
    assert ab.state() == before


@pytest.mark.parametrize(
    ("key", "src", "dst", "amount", "metadata"),
    [
        ("k", "a", "a", 1, None),  # p_from = p_to
        ("k", "a", "b", 0, None),
        ("k", "a", "b", -5, None),
        ("k", "a", "b", None, None),
        ("pgb:k", "a", "b", 1, None),  # reserved prefix: key ...
        ("k", "pgb:a", "b", 1, None),  # ... and account codes
        ("k", "a", "pgb:b", 1, None),
        ("", "a", "b", 1, None),
        (None, "a", "b", 1, None),
        ("k" * 201, "a", "b", 1, None),
        ("k", None, "b", 1, None),
        ("k", "a", "", 1, None),
        ("k", "a", "b", 1, [1, 2]),  # metadata must be an object
    ],
)
def test_malformed_is_22023(
    ab: Ledger, key: str | None, src: str | None, dst: str | None, amount: int | None,
    metadata: Any,
) -> None:  # fmt: skip
    before = ab.state()
    with raises("22023"):
        ab.transfer(key, src, dst, amount, metadata)  # type: ignore[arg-type]
    assert ab.state() == before


def test_empty_tenant_is_22023(ab: Ledger) -> None:
    with raises("22023"):
        ab.one("SELECT * FROM ledger.transfer('', 'k', 'a', 'b', 1)")


class TestCheckOrder:
    """22023 -> key known (replay / PB003) -> PB005 -> PB006 -> PB007 -> PB004 -> limits."""

    def test_malformed_beats_known_key(self, ab: Ledger) -> None:
        ab.transfer("t1", "a", "b", 10)
        with raises("22023"):
            ab.transfer("t1", "a", "b", 0)

    def test_known_key_beats_unknown_account(self, ab: Ledger) -> None:
        ab.transfer("t1", "a", "b", 10)
        with raises("PB003"):
            ab.transfer("t1", "a", "ghost", 10)

    def test_unknown_beats_currency(self, ab: Ledger) -> None:
        ab.open("usd", "USD")
        with raises("PB005"):
            ab.post(new_key(), [("a", -1), ("usd", 2), ("ghost", -1)])

    def test_currency_beats_closed(self, ab: Ledger) -> None:
        ab.open("usd", "USD")
        ab.close("usd")
        with raises("PB006"):
            ab.transfer(new_key(), "a", "usd", 1)

    def test_closed_beats_limits(self, ab: Ledger) -> None:
        ab.open("c", "EUR", 0, 0)
        ab.close("c")
        with raises("PB007"):
            ab.transfer(new_key(), "a", "c", 5000)

    def test_replay_succeeds_after_account_emptied_and_closed(self, ab: Ledger) -> None:
        first = ab.transfer("t1", "a", "b", 1000)
        ab.transfer(new_key(), "b", "a", 1000)
        ab.transfer(new_key(), "a", ab.world(), 1000)
        ab.close("a")
        ab.close("b")
        again = ab.transfer("t1", "a", "b", 1000)
        assert again == {**first, "replayed": True}
        # A new key with the same parameters is a new movement: closed now.
        with raises("PB007"):
            ab.transfer("t2", "a", "b", 1000)

    def test_replay_succeeds_when_funds_are_gone(self, ab: Ledger) -> None:
        ab.transfer("t1", "a", "b", 1000)
        assert ab.account("a")["available"] == 0
        assert ab.transfer("t1", "a", "b", 1000)["replayed"] is True


def test_unbounded_accounts_stop_at_the_bigint_range(ledger: Ledger) -> None:
    """Regression: an account without floor or ceiling used to surface 22003 (bigint out of
    range) from the posting trigger; what a bigint holds is its limit (PB001 / PB002)."""
    big = 9_223_372_036_854_775_807
    for code in ("w", "x", "y", "z"):
        ledger.open(code, "EUR", None, None)
    ledger.transfer(new_key(), "w", "x", big)  # w: -big, x: +big
    before = ledger.state()
    with raises("PB001"):  # w would fall below the smallest bigint
        ledger.transfer(new_key(), "w", "y", 2)
    with raises("PB001"):
        ledger.hold(new_key(), "w", "y", 2)
    assert ledger.state() == before
    ledger.hold(new_key(), "x", "y", big)  # x: pending_out = big, available 0
    with raises("PB001"):  # pending_out would overflow though available stays in range
        ledger.hold(new_key(), "x", "z", 1)
    ledger.transfer(new_key(), "z", "w", big)  # z: -big
    ledger.hold(new_key(), "y", "z", big)  # z: pending_in = big
    with raises("PB002"):  # pending_in would overflow though balance + pending_in is 0
        ledger.hold(new_key(), "w", "z", 1)
    assert ledger.account("w")["balance"] == 0
