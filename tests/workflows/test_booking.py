"""booking: every function's contract, its documented SQLSTATEs, and that a refused call
writes nothing. Each test runs in a tenant of its own and ends with ledger.verify clean."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from pgbalance.client import Client
from pgbalance.errors import InvalidState, LimitExceeded
from tests.workflows.wallet_booking_support import Api, as_app, detail, raises, wb_conn, wb_dsn

__all__ = ["wb_conn", "wb_dsn"]  # module fixtures

TOTAL, DEPOSIT = 10_000, 2_000
BALANCE = TOTAL - DEPOSIT


@pytest.fixture
def api(wb_conn: psycopg.Connection[Any], tenant: str) -> Iterator[Api]:
    a = Api(wb_conn, tenant)
    yield a
    assert a.verify() == []


def _booking(api: Api, booking: str = "b1", deposit_paid: bool = False) -> None:
    api.call("booking.create", booking, TOTAL, DEPOSIT, "EUR")
    if deposit_paid:
        api.call("booking.record_deposit", booking, DEPOSIT, f"dep-{booking}")


def _state(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["status"], row["deposit_paid"], row["balance_paid_amount"], row["outstanding"],
            row["replayed"], row["already_paid"])  # fmt: skip


# -- create / get ----------------------------------------------------------------------------


def test_create_then_again_returns_the_booking(api: Api) -> None:
    row = api.call("booking.create", "b1", TOTAL, DEPOSIT, "EUR")
    assert row == {"booking": "b1", "status": "PENDING", "total": TOTAL, "deposit_paid": 0,
                   "balance_paid_amount": 0, "balance_paid_at": None, "outstanding": TOTAL,
                   "replayed": False, "already_paid": False}  # fmt: skip
    assert api.call("booking.create", "b1", TOTAL, DEPOSIT, "EUR") == {**row, "replayed": True}
    assert api.call("booking.get", "b1") == row
    account = api.call("ledger.get_account", "pgb:booking:b1")
    assert (account["min_balance"], account["max_balance"]) == (0, TOTAL)


@pytest.mark.parametrize(
    "definition",
    [(TOTAL + 1, DEPOSIT, "EUR"), (TOTAL, DEPOSIT + 1, "EUR"), (TOTAL, DEPOSIT, "USD")],
)
def test_create_again_differently_is_pb003(api: Api, definition: tuple[Any, ...]) -> None:
    _booking(api)
    before = api.snapshot()
    with raises("PB003"):
        api.call("booking.create", "b1", *definition)
    assert api.snapshot() == before


@pytest.mark.parametrize(
    ("booking", "total", "deposit", "currency"),
    [(None, 100, 10, "EUR"), ("", 100, 10, "EUR"), ("pgb:b", 100, 10, "EUR"),
     ("b" * 181, 100, 10, "EUR"), ("b", None, 10, "EUR"), ("b", 0, 10, "EUR"),
     ("b", 100, None, "EUR"), ("b", 100, 0, "EUR"), ("b", 100, 100, "EUR"),
     ("b", 100, 101, "EUR"), ("b", 100, 10, "eur"), ("b", 100, 10, None)],
)  # fmt: skip
def test_create_rejects_malformed_input(
    api: Api, booking: Any, total: Any, deposit: Any, currency: Any
) -> None:
    with raises("22023"):
        api.call("booking.create", booking, total, deposit, currency)
    assert api.snapshot() == ((),) * 7


def test_get_and_unapplied_payments_of_an_unknown_booking_are_pb005(api: Api) -> None:
    with raises("PB005"):
        api.call("booking.get", "nope")
    with raises("PB005"):
        api.call_rows("booking.unapplied_payments", "nope")
    _booking(api)
    assert api.call_rows("booking.unapplied_payments", "b1") == []


# -- record_deposit --------------------------------------------------------------------------


def test_record_deposit_moves_the_booking_to_deposit_paid(api: Api) -> None:
    _booking(api)
    row = api.call("booking.record_deposit", "b1", DEPOSIT, "d1")
    assert _state(row) == ("DEPOSIT_PAID", DEPOSIT, 0, BALANCE, False, False)
    assert api.account_balance("pgb:booking:b1") == DEPOSIT
    assert api.account_balance("pgb:booking-clearing:EUR") == -DEPOSIT
    again = api.call("booking.record_deposit", "b1", DEPOSIT, "d1")
    assert again == {**row, "replayed": True}
    assert api.account_balance("pgb:booking:b1") == DEPOSIT


def test_record_deposit_refusals_write_nothing(api: Api) -> None:
    _booking(api)
    _booking(api, "b2", deposit_paid=True)
    before = api.snapshot()
    with raises("PB002") as info:
        api.call("booking.record_deposit", "b1", DEPOSIT + 1, "d1")
    assert detail(info)["deposit"] == str(DEPOSIT)
    with raises("22023"):
        api.call("booking.record_deposit", "b1", DEPOSIT - 1, "d1")
    with raises("PB005"):
        api.call("booking.record_deposit", "nope", DEPOSIT, "d1")
    with raises("PB004"):  # b2's deposit is paid; another deposit is not a transition
        api.call("booking.record_deposit", "b2", DEPOSIT, "d2")
    with raises("PB003"):  # b2's payment_ref, offered for b1
        api.call("booking.record_deposit", "b1", DEPOSIT, "dep-b2")
    with raises("PB003"):  # check order: a known reference beats an unknown booking
        api.call("booking.record_deposit", "nope", DEPOSIT, "dep-b2")
    for args in ((None, DEPOSIT, "d"), ("b1", 0, "d"), ("b1", None, "d"), ("b1", DEPOSIT, ""),
                 ("b1", DEPOSIT, "pgb:d"), ("b1", DEPOSIT, None)):  # fmt: skip
        with raises("22023"):
            api.call("booking.record_deposit", *args)
    assert api.snapshot() == before


# -- complete_balance_payment ----------------------------------------------------------------


def test_the_balance_is_applied_once_and_replayed(api: Api) -> None:
    _booking(api, deposit_paid=True)
    row = api.call("booking.complete_balance_payment", "b1", BALANCE, "x1")
    assert _state(row) == ("PAID", DEPOSIT, BALANCE, 0, False, False)
    assert row["balance_paid_at"] is not None
    assert api.account_balance("pgb:booking:b1") == TOTAL
    again = api.call("booking.complete_balance_payment", "b1", BALANCE, "x1")
    assert again == {**row, "replayed": True}
    assert api.account_balance("pgb:booking:b1") == TOTAL
    assert api.call("booking.get", "b1") == row


@pytest.mark.parametrize("amount", [1, BALANCE, 5 * BALANCE])
def test_another_payment_once_paid_is_kept_unapplied_whatever_its_amount(
    api: Api, amount: int
) -> None:
    _booking(api, deposit_paid=True)
    paid = api.call("booking.complete_balance_payment", "b1", BALANCE, "x1")
    entries = api.entries()
    row = api.call("booking.complete_balance_payment", "b1", amount, "x2")
    assert row == {**paid, "already_paid": True}
    assert api.entries() == entries  # no ledger movement
    assert api.account_balance("pgb:booking:b1") == TOTAL
    kept = api.call_rows("booking.unapplied_payments", "b1")
    assert [(p["payment_ref"], p["amount"]) for p in kept] == [("x2", amount)]
    assert kept[0]["reason"] and kept[0]["received_at"] is not None
    # Its retry is a replay of the unapplied payment, kept once.
    again = api.call("booking.complete_balance_payment", "b1", amount, "x2")
    assert again == {**row, "replayed": True}
    assert len(api.call_rows("booking.unapplied_payments", "b1")) == 1
    with raises("PB003"):
        api.call("booking.complete_balance_payment", "b1", amount + 1, "x2")


def test_a_balance_payment_before_the_deposit_is_pb004_and_recorded_nowhere(api: Api) -> None:
    _booking(api)
    before = api.snapshot()
    with raises("PB004"):
        api.call("booking.complete_balance_payment", "b1", BALANCE, "x1")
    assert api.snapshot() == before
    # The provider's retry, once the deposit is in, applies it.
    api.call("booking.record_deposit", "b1", DEPOSIT, "d1")
    row = api.call("booking.complete_balance_payment", "b1", BALANCE, "x1")
    assert _state(row) == ("PAID", DEPOSIT, BALANCE, 0, False, False)


def test_complete_balance_payment_refusals_write_nothing(api: Api) -> None:
    _booking(api, deposit_paid=True)
    before = api.snapshot()
    with raises("PB002") as info:
        api.call("booking.complete_balance_payment", "b1", BALANCE + 1, "x1")
    assert detail(info)["outstanding"] == str(BALANCE)
    with raises("22023"):
        api.call("booking.complete_balance_payment", "b1", BALANCE - 1, "x1")
    with raises("PB005"):
        api.call("booking.complete_balance_payment", "nope", BALANCE, "x1")
    with raises("PB003"):  # the deposit's payment_ref is not a balance payment
        api.call("booking.complete_balance_payment", "b1", DEPOSIT, "dep-b1")
    for args in ((None, BALANCE, "x"), ("b1", 0, "x"), ("b1", -1, "x"), ("b1", BALANCE, ""),
                 ("b1", BALANCE, "pgb:x"), ("b1", BALANCE, "x" * 181)):  # fmt: skip
        with raises("22023"):
            api.call("booking.complete_balance_payment", *args)
    assert api.snapshot() == before


def test_the_booking_account_ceiling_is_the_last_word(
    api: Api, wb_conn: psycopg.Connection[Any]
) -> None:
    """Whatever a future bug in the workflow did, the booking account cannot hold more than
    the price: a second balance posting straight through the kernel is PB002."""
    _booking(api, deposit_paid=True)
    api.call("booking.complete_balance_payment", "b1", BALANCE, "x1")
    with raises("PB002"):
        wb_conn.execute("SELECT * FROM ledger._post(%s, 'pgb:test:again',"
                        " ARRAY['pgb:booking-clearing:EUR', 'pgb:booking:b1'],"
                        " ARRAY[-1, 1]::bigint[], '{}', false, NULL, true, false)",
                        (api.tenant,))  # fmt: skip


def test_tenants_do_not_see_each_other(wb_conn: psycopg.Connection[Any], tenant: str) -> None:
    a, b = Api(wb_conn, tenant + "-a"), Api(wb_conn, tenant + "-b")
    _booking(a, deposit_paid=True)
    with raises("PB005"):
        b.call("booking.get", "b1")
    b.call("booking.create", "b1", 500, 100, "USD")
    assert b.call("booking.record_deposit", "b1", 100, "dep-b1")["replayed"] is False
    assert a.call("booking.get", "b1")["deposit_paid"] == DEPOSIT
    assert a.verify() == [] and b.verify() == []


def test_the_app_role_calls_functions_but_reads_no_table(
    wb_conn: psycopg.Connection[Any], tenant: str
) -> None:
    with as_app(wb_conn, tenant) as api:
        _booking(api, deposit_paid=True)
        api.call("booking.complete_balance_payment", "b1", BALANCE, "x1")
        assert api.call("booking.get", "b1")["status"] == "PAID"
        api.refused("SELECT * FROM booking.payment", "SELECT booking._booking_account('b1')")


def test_client_booking_namespace(wb_dsn: str, tenant: str) -> None:
    with Client(wb_dsn) as client:
        bk = client.booking
        assert bk.create(tenant, "b1", TOTAL, DEPOSIT, "EUR").status == "PENDING"
        with pytest.raises(InvalidState):
            bk.complete_balance_payment(tenant, "b1", BALANCE, "x1")
        assert bk.record_deposit(tenant, "b1", DEPOSIT, "d1").outstanding == BALANCE
        with pytest.raises(LimitExceeded):
            bk.complete_balance_payment(tenant, "b1", BALANCE + 1, "x1")
        paid = bk.complete_balance_payment(tenant, "b1", BALANCE, "x1")
        assert (paid.status, paid.replayed, paid.already_paid) == ("PAID", False, False)
        dup = bk.complete_balance_payment(tenant, "b1", BALANCE, "x2")
        assert dup.already_paid is True
        assert bk.get(tenant, "b1") == paid
        assert [(p.payment_ref, p.amount) for p in bk.unapplied_payments(tenant, "b1")] == [
            ("x2", BALANCE)
        ]
        assert client.verify(tenant) == []
