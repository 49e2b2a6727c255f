"""wallet: every function's contract, its documented SQLSTATEs, and that a refused call
writes nothing. Each test runs in a tenant of its own and ends with ledger.verify clean."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from pgbalance.client import Client
from pgbalance.errors import IdempotencyConflict, InsufficientFunds
from pgbalance.workflows.wallet import WalletRow, WalletTx
from tests.workflows.wallet_booking_support import Api, as_app, detail, raises, wb_conn, wb_dsn

__all__ = ["wb_conn", "wb_dsn"]  # module fixtures


@pytest.fixture
def api(wb_conn: psycopg.Connection[Any], tenant: str) -> Iterator[Api]:
    a = Api(wb_conn, tenant)
    yield a
    assert a.verify() == []


def _wallet(api: Api, user: str = "alice", funds: int = 0) -> None:
    api.call("wallet.open", user, "EUR")
    if funds:
        api.call("wallet.topup", user, funds, f"seed-{user}")


# -- open / balance --------------------------------------------------------------------------


def test_open_creates_an_empty_wallet_and_again_returns_it(api: Api) -> None:
    row = api.call("wallet.open", "alice", "EUR")
    assert row == {"user_id": "alice", "currency": "EUR", "balance": 0, "available": 0}
    assert api.call("wallet.open", "alice", "EUR") == row
    assert api.call("wallet.balance", "alice") == row
    # Its money is a kernel account with a floor of 0.
    account = api.call("ledger.get_account", "pgb:wallet:alice")
    assert (account["min_balance"], account["max_balance"]) == (0, None)


def test_open_in_another_currency_is_pb003_and_changes_nothing(api: Api) -> None:
    _wallet(api, funds=500)
    before = api.snapshot()
    with raises("PB003"):
        api.call("wallet.open", "alice", "USD")
    assert api.snapshot() == before


@pytest.mark.parametrize(
    ("user", "currency"),
    [(None, "EUR"), ("", "EUR"), ("pgb:x", "EUR"), ("u" * 181, "EUR"),
     ("bob", None), ("bob", "eur"), ("bob", "EURO")],
)  # fmt: skip
def test_open_rejects_malformed_input(api: Api, user: Any, currency: Any) -> None:
    with raises("22023"):
        api.call("wallet.open", user, currency)
    assert api.snapshot() == ((),) * 7


def test_balance_of_an_unknown_wallet_is_pb005(api: Api) -> None:
    with raises("PB005"):
        api.call("wallet.balance", "nobody")
    with raises("22023"):
        api.call("wallet.balance", "")


# -- topup -----------------------------------------------------------------------------------


def test_topup_credits_the_wallet_once_per_reference(api: Api) -> None:
    _wallet(api)
    first = api.call("wallet.topup", "alice", 1000, "t1")
    assert first == {"reference": "t1", "user_id": "alice", "kind": "topup", "amount": 1000,
                     "status": "completed", "replayed": False}  # fmt: skip
    again = api.call("wallet.topup", "alice", 1000, "t1")
    assert again == {**first, "replayed": True}
    assert api.call("wallet.balance", "alice")["balance"] == 1000
    assert api.account_balance("pgb:wallet-funding:EUR") == -1000


@pytest.mark.parametrize(
    ("user", "amount", "reference"),
    [("alice", 999, "t1"), ("bob", 1000, "t1")],
    ids=["other-amount", "other-user"],
)
def test_topup_reference_reused_differently_is_pb003(
    api: Api, user: str, amount: int, reference: str
) -> None:
    _wallet(api)
    _wallet(api, "bob")
    api.call("wallet.topup", "alice", 1000, "t1")
    before = api.snapshot()
    with raises("PB003") as info:
        api.call("wallet.topup", user, amount, reference)
    assert detail(info)["reference"] == "t1"
    assert api.snapshot() == before


def test_a_reference_names_one_movement_across_topup_and_purchase(api: Api) -> None:
    _wallet(api, funds=1000)
    api.call("wallet.topup", "alice", 100, "r1")
    with raises("PB003"):
        api.call("wallet.purchase", "alice", 100, "r1")
    api.call("wallet.purchase", "alice", 100, "r2")
    with raises("PB003"):
        api.call("wallet.topup", "alice", 100, "r2")


def test_topup_of_an_unknown_wallet_is_pb005_but_a_known_reference_wins(api: Api) -> None:
    _wallet(api)
    api.call("wallet.topup", "alice", 100, "t1")
    before = api.snapshot()
    with raises("PB005"):
        api.call("wallet.topup", "nobody", 100, "t2")
    # Check order: the reference is known (to alice) before the wallet is found missing.
    with raises("PB003"):
        api.call("wallet.topup", "nobody", 100, "t1")
    assert api.snapshot() == before


@pytest.mark.parametrize(
    ("user", "amount", "reference"),
    [(None, 100, "t"), ("alice", None, "t"), ("alice", 0, "t"), ("alice", -5, "t"),
     ("alice", 100, None), ("alice", 100, ""), ("alice", 100, "pgb:t"), ("alice", 100, "r" * 181)],
)  # fmt: skip
def test_topup_rejects_malformed_input(api: Api, user: Any, amount: Any, reference: Any) -> None:
    _wallet(api)
    before = api.snapshot()
    with raises("22023"):
        api.call("wallet.topup", user, amount, reference)
    assert api.snapshot() == before


def test_malformed_input_is_22023_even_for_a_known_reference(api: Api) -> None:
    _wallet(api)
    api.call("wallet.topup", "alice", 100, "t1")
    with raises("22023"):
        api.call("wallet.topup", "alice", 0, "t1")


# -- purchase --------------------------------------------------------------------------------


def test_purchase_debits_the_wallet_and_credits_revenue(api: Api) -> None:
    _wallet(api, funds=1000)
    row = api.call("wallet.purchase", "alice", 300, "p1", Jsonb([{"sku": "tea", "qty": 2}]))
    assert row == {"reference": "p1", "user_id": "alice", "kind": "purchase", "amount": 300,
                   "status": "completed", "replayed": False}  # fmt: skip
    assert api.call("wallet.balance", "alice")["balance"] == 700
    assert api.account_balance("pgb:wallet-revenue:EUR") == 300
    # Items are not money-relevant: another list is still the same purchase.
    again = api.call("wallet.purchase", "alice", 300, "p1", Jsonb([]))
    assert again["replayed"] is True
    assert api.call("wallet.balance", "alice")["balance"] == 700


def test_purchase_the_wallet_cannot_pay_is_pb001_and_leaves_nothing(api: Api) -> None:
    _wallet(api, funds=100)
    before = api.snapshot()
    with raises("PB001") as info:
        api.call("wallet.purchase", "alice", 101, "p1")
    assert detail(info)["available"] == "100"
    assert detail(info)["requested"] == "101"
    assert api.snapshot() == before
    # The failed call left no trace, its reference included: it can be used again.
    api.call("wallet.topup", "alice", 1, "t-more")
    assert api.call("wallet.purchase", "alice", 101, "p1")["replayed"] is False
    assert api.call("wallet.balance", "alice")["balance"] == 0


def test_purchase_items_must_be_a_json_array(api: Api) -> None:
    _wallet(api, funds=100)
    before = api.snapshot()
    with raises("22023"):
        api.call("wallet.purchase", "alice", 10, "p1", Jsonb({"sku": "tea"}))
    assert api.snapshot() == before
    # NULL items are an empty list.
    assert api.call("wallet.purchase", "alice", 10, "p1", None)["replayed"] is False


def test_purchase_of_an_unknown_wallet_is_pb005(api: Api) -> None:
    with raises("PB005"):
        api.call("wallet.purchase", "nobody", 10, "p1")
    assert api.snapshot() == ((),) * 7


def test_a_replay_succeeds_after_the_wallet_account_was_closed(
    api: Api, wb_conn: psycopg.Connection[Any]
) -> None:
    _wallet(api, funds=100)
    api.call("wallet.purchase", "alice", 100, "p1")
    # An operator closes the emptied account (closed_at is not a guarded column).
    wb_conn.execute("UPDATE ledger.account SET closed_at = now() WHERE tenant_id = %s"
                    " AND code = 'pgb:wallet:alice'", (api.tenant,))  # fmt: skip
    assert api.call("wallet.purchase", "alice", 100, "p1")["replayed"] is True
    with raises("PB007"):
        api.call("wallet.topup", "alice", 100, "t-new")
    with raises("PB007"):
        api.call("wallet.fail_purchase", "p1")


# -- fail_purchase ---------------------------------------------------------------------------


def test_fail_purchase_refunds_exactly_once(api: Api) -> None:
    _wallet(api, funds=1000)
    api.call("wallet.purchase", "alice", 300, "p1")
    entries = api.entries()
    failed = api.call("wallet.fail_purchase", "p1", "out of stock")
    assert failed == {"reference": "p1", "user_id": "alice", "kind": "purchase", "amount": 300,
                      "status": "failed", "replayed": False}  # fmt: skip
    assert api.entries() == entries + 1
    assert api.call("wallet.balance", "alice")["balance"] == 1000
    assert api.account_balance("pgb:wallet-revenue:EUR") == 0
    # Again (another reason does not count) -> replayed, no second refund.
    assert api.call("wallet.fail_purchase", "p1", "again")["replayed"] is True
    assert api.call("wallet.fail_purchase", "p1")["replayed"] is True
    assert api.entries() == entries + 1
    assert api.call("wallet.balance", "alice")["balance"] == 1000
    # A purchase replayed later shows its current state.
    assert api.call("wallet.purchase", "alice", 300, "p1") == {**failed, "replayed": True}


def test_fail_purchase_refusals(api: Api) -> None:
    _wallet(api, funds=1000)
    before = api.snapshot()
    with raises("PB005"):
        api.call("wallet.fail_purchase", "nope")
    with raises("PB004"):
        api.call("wallet.fail_purchase", "seed-alice")  # a top-up cannot fail
    for bad in (None, "", "pgb:p1"):
        with raises("22023"):
            api.call("wallet.fail_purchase", bad)
    with raises("22023"):
        api.call("wallet.fail_purchase", "seed-alice", "x" * 1001)
    assert api.snapshot() == before


def test_the_refund_needs_no_funds_and_is_one_kernel_reversal(api: Api) -> None:
    _wallet(api, funds=500)
    api.call("wallet.purchase", "alice", 500, "p1")
    api.call("wallet.fail_purchase", "p1")
    keys = {r["idempotency_key"]: r["status"] for r in api.rows(
        "SELECT idempotency_key, status FROM ledger.entry WHERE tenant_id = %s", (api.tenant,))}
    assert keys == {"pgb:wallet:tx:seed-alice": "posted", "pgb:wallet:tx:p1": "reversed",
                    "pgb:wallet:refund:p1": "posted"}  # fmt: skip


# -- history, tenancy, privileges ------------------------------------------------------------


def test_history_lists_the_wallet_oldest_first(api: Api) -> None:
    _wallet(api)
    _wallet(api, "bob", funds=10)
    api.call("wallet.topup", "alice", 500, "a1")
    api.call("wallet.purchase", "alice", 200, "a2")
    api.call("wallet.purchase", "alice", 100, "a3")
    api.call("wallet.fail_purchase", "a2")
    rows = api.call_rows("wallet.history", "alice")
    assert [(r["reference"], r["kind"], r["amount"], r["status"], r["replayed"]) for r in rows] == [
        ("a1", "topup", 500, "completed", False),
        ("a2", "purchase", 200, "failed", False),
        ("a3", "purchase", 100, "completed", False),
    ]
    with raises("PB005"):
        api.call_rows("wallet.history", "carol")


def test_tenants_do_not_see_each_other(wb_conn: psycopg.Connection[Any], tenant: str) -> None:
    a, b = Api(wb_conn, tenant + "-a"), Api(wb_conn, tenant + "-b")
    a.call("wallet.open", "alice", "EUR")
    a.call("wallet.topup", "alice", 100, "t1")
    with raises("PB005"):
        b.call("wallet.balance", "alice")
    b.call("wallet.open", "alice", "USD")  # the same user in another tenant is another wallet
    assert b.call("wallet.topup", "alice", 7, "t1")["replayed"] is False
    assert a.call("wallet.balance", "alice")["balance"] == 100
    assert b.call("wallet.balance", "alice") == {"user_id": "alice", "currency": "USD",
                                                  "balance": 7, "available": 7}  # fmt: skip
    assert a.verify() == [] and b.verify() == []


def test_the_app_role_calls_functions_but_reads_no_table(
    wb_conn: psycopg.Connection[Any], tenant: str
) -> None:
    with as_app(wb_conn, tenant) as api:
        api.call("wallet.open", "alice", "EUR")
        api.call("wallet.topup", "alice", 100, "t1")
        assert api.call("wallet.balance", "alice")["balance"] == 100
        api.refused("SELECT * FROM wallet.tx", f"SELECT wallet._account('{tenant}', 'alice')")


# -- the Python client -----------------------------------------------------------------------


def test_client_wallet_namespace(wb_dsn: str, tenant: str) -> None:
    with Client(wb_dsn) as client:
        w = client.wallet
        assert w.open(tenant, "alice", "EUR") == WalletRow("alice", "EUR", 0, 0)
        assert w.topup(tenant, "alice", 500, "t1") == WalletTx(
            "t1", "alice", "topup", 500, "completed", False)  # fmt: skip
        assert w.purchase(tenant, "alice", 200, "p1", [{"sku": "x"}]).replayed is False
        with pytest.raises(InsufficientFunds):
            w.purchase(tenant, "alice", 301, "p2")
        with pytest.raises(IdempotencyConflict):
            w.purchase(tenant, "alice", 201, "p1")
        assert w.fail_purchase(tenant, "p1", "declined").status == "failed"
        assert w.balance(tenant, "alice").balance == 500
        assert [t.reference for t in w.history(tenant, "alice")] == ["t1", "p1"]
        assert client.verify(tenant) == []
