"""A workflow's entries are the workflow's: ledger.capture, ledger.void and ledger.reverse of
an entry whose key starts with `pgb:` raise PB004 (DETAIL workflow=..., a HINT naming the
function to use) and change nothing, whoever calls them; the workflows' own functions still
capture, void and reverse them. The cases are the review's: each left a workflow's rows
disagreeing with the ledger on main."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.kernel.support import detail, raises
from tests.workflows.fees_tuition_support import Api, Fees, Tuition, wf_conn, wf_dsn

__all__ = ["wf_conn", "wf_dsn"]  # module-scoped database fixtures

WALLET_TABLES = ("wallet.wallet", "wallet.tx")
BOOKING_TABLES = ("booking.booking", "booking.payment")
TUITION_TABLES = ("tuition.assessment", "tuition.term", "tuition.payment", "tuition.allocation")


@pytest.fixture
def api(wf_conn: psycopg.Connection[Any], tenant: str) -> Any:
    a = Api(wf_conn, tenant)
    yield a
    assert a.verify() == []


def entry_of(api: Api, key: str) -> int:
    value: int = api.scalar(
        "SELECT entry_id FROM ledger.entry WHERE tenant_id = %s AND idempotency_key = %s",
        (api.tenant, key),
    )
    return value


def refused(api: Api, workflow: str, tables: tuple[str, ...], fn: str, *args: Any) -> None:
    """ledger.<fn>(tenant, *args) is PB004 naming `workflow`, with a HINT, and writes nothing."""
    before = api.state(*tables)
    with raises("PB004") as info:
        api.call(f"ledger.{fn}", *args)
    assert detail(info)["workflow"] == workflow
    assert info.value.diag.message_hint
    assert api.state(*tables) == before


def test_reversing_a_purchase_or_its_refund_is_refused(api: Api) -> None:
    api.call("wallet.open", "u", "EUR")
    api.call("wallet.topup", "u", 1000, "top")
    api.call("wallet.purchase", "u", 300, "buy")
    purchase = entry_of(api, "pgb:wallet:tx:buy")
    refused(api, "wallet", WALLET_TABLES, "reverse", "k-rev", purchase, None)
    refused(api, "wallet", WALLET_TABLES, "reverse", "k-rev", purchase, 100)
    topup = entry_of(api, "pgb:wallet:tx:top")
    refused(api, "wallet", WALLET_TABLES, "reverse", "k-rev", topup, None)
    # The workflow's own refund still works, exactly once, and its refund is the workflow's too.
    assert api.call("wallet.fail_purchase", "buy")["status"] == "failed"
    assert api.call("wallet.balance", "u")["balance"] == 1000
    refund = entry_of(api, "pgb:wallet:refund:buy")
    refused(api, "wallet", WALLET_TABLES, "reverse", "k-rev", refund, None)
    assert api.call("wallet.balance", "u")["balance"] == 1000
    # The key of a refused call was not kept: it is free for a user reversal.
    assert api.scalar("SELECT count(*) FROM ledger.entry WHERE tenant_id = %s"
                      " AND idempotency_key = 'k-rev'", (api.tenant,)) == 0  # fmt: skip


def test_capturing_or_voiding_a_tuition_hold_is_refused(wf_conn: psycopg.Connection[Any],
                                                        tenant: str) -> None:  # fmt: skip
    tu = Tuition(wf_conn, tenant)
    tu.assess("alice", [{"name": "T1", "amount": 1000}])
    payment = tu.submit("alice", 1, 1000, "p1")["payment_id"]
    hold = tu.hold_of(payment)
    refused(tu, "tuition", TUITION_TABLES, "capture", hold, 1)
    refused(tu, "tuition", TUITION_TABLES, "capture", hold, None)
    refused(tu, "tuition", TUITION_TABLES, "void", hold)
    approved = tu.approve(payment)
    assert approved["status"] == "paid"
    assert tu.account(tu.student_code("alice"))["balance"] == 1000
    # Once captured, the hold stays the workflow's: no replay, no void, no reversal.
    refused(tu, "tuition", TUITION_TABLES, "capture", hold, None)
    refused(tu, "tuition", TUITION_TABLES, "void", hold)
    refused(tu, "tuition", TUITION_TABLES, "reverse", "k-rev", hold, None)
    # Reject goes through the workflow's own void.
    tu.assess("bob", [{"name": "T1", "amount": 500}])
    other = tu.submit("bob", 1, 500, "p2")["payment_id"]
    assert tu.reject(other)["status"] == "rejected"
    assert tu.verify() == []


def test_reversing_a_booking_deposit_is_refused(api: Api) -> None:
    api.call("booking.create", "b1", 1000, 200, "EUR")
    api.call("booking.record_deposit", "b1", 200, "dep")
    deposit = entry_of(api, "pgb:booking:pay:dep")
    refused(api, "booking", BOOKING_TABLES, "reverse", "k-rev", deposit, None)
    paid = api.call("booking.complete_balance_payment", "b1", 800, "bal")
    assert (paid["status"], paid["deposit_paid"], paid["balance_paid_amount"]) == ("PAID", 200, 800)


def test_reversing_a_service_fee_is_refused(wf_conn: psycopg.Connection[Any], tenant: str) -> None:
    fees = Fees(wf_conn, tenant)
    fees.open_wallet("s", topup=1000)
    fees.open_wallet("c", topup=1000)
    fees.create("L1")
    fees.complete("L1")
    fee = fees.deduct("L1", 30, 20)["fee_entry_id"]
    refused(fees, "fees", ("fees.load",), "reverse", "k-rev", fee, None)
    assert fees.refund("L1")["fee_status"] == "REFUNDED"
    assert (fees.wallet("s"), fees.wallet("c"), fees.revenue()) == (1000, 1000, 0)
    assert fees.verify() == []


def test_user_entries_are_still_the_users(api: Api) -> None:
    """The refusal is for pgb: keys only: the kernel's own calls on user keys are unchanged."""
    api.call("ledger.open_account", "w", "EUR", None, None)
    api.call("ledger.open_account", "a", "EUR")
    moved = api.call("ledger.transfer", "t1", "w", "a", 100)["entry_id"]
    assert api.call("ledger.reverse", "r1", moved, 40)["status"] == "posted"
    hold = api.call("ledger.hold", "h1", "a", "w", 10)["entry_id"]
    assert api.call("ledger.capture", hold, 5)["status"] == "posted"
    hold = api.call("ledger.hold", "h2", "a", "w", 10)["entry_id"]
    assert api.call("ledger.void", hold)["status"] == "voided"
