"""open_account, get_account, close_account."""

from __future__ import annotations

import pytest

from tests.kernel.support import Ledger, new_key, raises


def test_open_returns_the_account_row(ledger: Ledger) -> None:
    row = ledger.open("cash", "EUR", -500, 10_000, {"owner": "ann"})
    assert row == {
        "tenant": ledger.tenant, "code": "cash", "currency": "EUR", "balance": 0,
        "pending_out": 0, "pending_in": 0, "available": 0, "min_balance": -500,
        "max_balance": 10_000, "closed": False,
    }  # fmt: skip
    assert ledger.account("cash") == row


def test_open_defaults_floor_zero_no_ceiling(ledger: Ledger) -> None:
    row = ledger.call("open_account", "plain", "USD")
    assert (row["min_balance"], row["max_balance"]) == (0, None)
    unbounded = ledger.open("free", "USD", None, None)
    assert (unbounded["min_balance"], unbounded["max_balance"]) == (None, None)


def test_open_again_same_definition_returns_it_metadata_ignored(ledger: Ledger) -> None:
    first = ledger.open("a", "EUR", 0, 100, {"v": 1})
    ledger.fund("a", 40)
    again = ledger.open("a", "EUR", 0, 100, {"v": 2})
    assert again == {**first, "balance": 40, "available": 40}
    assert ledger.scalar(
        "SELECT count(*) AS n FROM ledger.account WHERE tenant_id = %s AND code = 'a'",
        (ledger.tenant,),
    ) == 1


@pytest.mark.parametrize(
    "definition",
    [("USD", 0, 100), ("EUR", -1, 100), ("EUR", 0, 101), ("EUR", 0, None), ("EUR", None, 100)],
)
def test_open_again_different_definition_is_pb003(
    ledger: Ledger, definition: tuple[str, int | None, int | None]
) -> None:
    ledger.open("a", "EUR", 0, 100)
    before = ledger.state()
    with raises("PB003"):
        ledger.open("a", *definition)
    assert ledger.state() == before


@pytest.mark.parametrize(
    ("currency", "min_balance", "max_balance"),
    [
        ("eur", 0, None), ("EURO", 0, None), ("EU", 0, None), ("", 0, None), (None, 0, None),
        ("E1R", 0, None), ("EUR", 1, None), ("EUR", 0, -1), ("EUR", 5, 10),
    ],
)  # fmt: skip
def test_open_malformed_is_22023(
    ledger: Ledger, currency: str | None, min_balance: int | None, max_balance: int | None
) -> None:
    with raises("22023"):
        ledger.open("bad", currency, min_balance, max_balance)  # type: ignore[arg-type]
    assert ledger.state() == ((), 0, ())


@pytest.mark.parametrize("code", ["", None, "pgb:wallet:x", "x" * 201])
def test_open_bad_code_is_22023(ledger: Ledger, code: str | None) -> None:
    with raises("22023"):
        ledger.open(code)  # type: ignore[arg-type]
    assert ledger.state() == ((), 0, ())


def test_malformed_wins_over_existing_definition(ledger: Ledger) -> None:
    """Check order: 22023 before the key/reference (here: the existing code) is looked at."""
    ledger.open("a", "EUR")
    with raises("22023"):
        ledger.open("a", "usd")


def test_get_account_unknown_is_pb005(ledger: Ledger) -> None:
    with raises("PB005"):
        ledger.account("nope")
    with raises("22023"):
        ledger.account("")


def test_close_account(ledger: Ledger) -> None:
    ledger.open("a")
    ledger.open("b")
    ledger.fund("a", 100)
    with raises("PB004"):
        ledger.close("a")
    assert ledger.account("a")["closed"] is False
    ledger.transfer(new_key(), "a", "b", 100)
    closed = ledger.close("a")
    assert closed["closed"] is True and closed["balance"] == 0
    assert ledger.close("a") == closed  # again: unchanged
    assert ledger.account("a") == closed
    assert ledger.open("a") == closed  # same definition: the (closed) account


def test_close_with_pending_is_pb004(ledger: Ledger) -> None:
    ledger.open("a")
    ledger.open("b")
    ledger.fund("a", 100)
    ledger.transfer(new_key(), "a", "b", 100)  # a is 0 but ...
    hold = ledger.hold(new_key(), "b", "a", 30)  # ... a has pending_in, b pending_out
    for code in ("a", "b"):
        with raises("PB004"):
            ledger.close(code)
    ledger.void(hold["entry_id"])
    assert ledger.close("a")["closed"] is True


def test_close_unknown_is_pb005(ledger: Ledger) -> None:
    with raises("PB005"):
        ledger.close("nope")


def test_movements_touching_a_closed_account_are_pb007(ledger: Ledger) -> None:
    ledger.open("a")
    ledger.open("b")
    ledger.open("c")
    ledger.fund("a", 100)
    ledger.close("c")
    before = ledger.state()
    with raises("PB007"):
        ledger.transfer(new_key(), "a", "c", 10)
    with raises("PB007"):
        ledger.transfer(new_key(), "c", "a", 10)  # PB007 wins over PB001 (limits come last)
    with raises("PB007"):
        ledger.hold(new_key(), "a", "c", 10)
    with raises("PB007"):
        ledger.post(new_key(), [("a", -10), ("b", 5), ("c", 5)])
    assert ledger.state() == before
