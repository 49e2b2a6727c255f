"""fees: every function's contract behaviour and bad inputs (each documented SQLSTATE, and
nothing written), against the SQL contract as an application calls it."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from pgbalance import errors
from pgbalance.client import Client
from pgbalance.workflows.fees import Load
from tests.kernel.support import detail, raises
from tests.workflows.fees_tuition_support import Fees, wf_conn, wf_dsn

__all__ = ["wf_conn", "wf_dsn"]  # module-scoped database fixtures

REVENUE = "pgb:fees:revenue:EUR"


@pytest.fixture
def fees(wf_conn: psycopg.Connection[Any], tenant: str) -> Any:
    """Shipper s (1000) and carrier c (500) wallets in EUR, load L1 between them, completed.
    verify() must be clean for the tenant when the test ends."""
    api = Fees(wf_conn, tenant)
    api.open_wallet("s", topup=1000)
    api.open_wallet("c", topup=500)
    api.create("L1")
    api.complete("L1")
    yield api
    assert api.verify() == []


def test_create_load_then_again_and_differently(fees: Fees) -> None:
    row = fees.create("L2")
    assert row == {"load": "L2", "status": "CREATED", "fee_status": "NONE", "shipper_fee": None,
                   "carrier_fee": None, "fee_entry_id": None, "refund_entry_id": None,
                   "replayed": False}  # fmt: skip
    assert fees.create("L2") == {**row, "replayed": True}
    fees.open_wallet("other")
    before = fees.snapshot()
    for shipper, carrier, currency in (("s", "other", "EUR"), ("other", "c", "EUR"),
                                       ("c", "s", "EUR"), ("s", "c", "USD")):  # fmt: skip
        with raises("PB003"):
            fees.create("L2", shipper, carrier, currency)
    assert fees.snapshot() == before
    # The platform's revenue account exists from the first load on, without floor or ceiling.
    account = fees.account(REVENUE)
    assert (account["balance"], account["min_balance"], account["max_balance"]) == (0, None, None)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ((None, "s", "c", "EUR"), "22023"),
        (("", "s", "c", "EUR"), "22023"),
        (("x" * 201, "s", "c", "EUR"), "22023"),
        (("L9", None, "c", "EUR"), "22023"),
        (("L9", "s", "", "EUR"), "22023"),
        (("L9", "pgb:wallet:s", "c", "EUR"), "22023"),
        (("L9", "s", "s", "EUR"), "22023"),
        (("L9", "s", "c", "eur"), "22023"),
        (("L9", "s", "c", None), "22023"),
        (("L9", "nobody", "c", "EUR"), "PB005"),
        (("L9", "s", "nobody", "EUR"), "PB005"),
        (("L9", "s", "usd-wallet", "EUR"), "PB006"),
        (("L9", "s", "c", "USD"), "PB006"),
        # A known load id is judged first: PB003 even though the wallet is unknown.
        (("L1", "s", "nobody", "EUR"), "PB003"),
    ],
)
def test_create_load_refusals_write_nothing(fees: Fees, args: tuple[Any, ...], code: str) -> None:
    fees.open_wallet("usd-wallet", "USD")
    before = fees.snapshot()
    with raises(code):
        fees.create(*args)
    assert fees.snapshot() == before


def test_create_load_needs_a_tenant(fees: Fees) -> None:
    with raises("22023"):
        fees.rows("SELECT * FROM fees.create_load(NULL, 'L9', 's', 'c', 'EUR')")


def test_complete_load_once_then_unchanged(fees: Fees) -> None:
    fees.create("L2")
    row = fees.complete("L2")
    assert (row["status"], row["fee_status"], row["replayed"]) == ("COMPLETED", "NONE", False)
    assert fees.complete("L2") == {**row, "replayed": True}
    # Completing never depends on the fees: a deducted or refunded load completes again too.
    fees.deduct("L2", 10, 10)
    assert fees.complete("L2")["fee_status"] == "DEDUCTED"
    before = fees.snapshot()
    with raises("PB005"):
        fees.complete("nope")
    with raises("22023"):
        fees.complete("")
    assert fees.snapshot() == before


def test_deduct_posts_one_entry_with_the_load_update(fees: Fees) -> None:
    entries = fees.entry_count()
    row = fees.deduct("L1", 300, 200)
    assert row["fee_status"] == "DEDUCTED" and row["replayed"] is False
    assert (row["shipper_fee"], row["carrier_fee"], row["refund_entry_id"]) == (300, 200, None)
    assert fees.entry_count() == entries + 1
    assert fees.legs(row["fee_entry_id"]) == {"pgb:wallet:s": -300, "pgb:wallet:c": -200,
                                              REVENUE: 500}  # fmt: skip
    assert (fees.wallet("s"), fees.wallet("c"), fees.revenue()) == (700, 300, 500)
    assert fees.get("L1") == row

    # Again: replayed, whatever the wallets hold now (the key is judged before the amounts).
    fees.call("wallet.purchase", "s", 700, "spend-all")
    assert fees.deduct("L1", 300, 200) == {**row, "replayed": True}
    assert fees.entry_count() == entries + 2  # the purchase only
    before = fees.snapshot()
    for shipper_fee, carrier_fee in ((300, 201), (0, 500), (301, 200)):
        with raises("PB003"):
            fees.deduct("L1", shipper_fee, carrier_fee)
    assert fees.snapshot() == before


@pytest.mark.parametrize(("shipper_fee", "carrier_fee"), [(0, 200), (300, 0)])
def test_a_zero_fee_is_no_leg(fees: Fees, shipper_fee: int, carrier_fee: int) -> None:
    row = fees.deduct("L1", shipper_fee, carrier_fee)
    expected = {"pgb:wallet:s": -shipper_fee, "pgb:wallet:c": -carrier_fee,
                REVENUE: shipper_fee + carrier_fee}  # fmt: skip
    assert fees.legs(row["fee_entry_id"]) == {k: v for k, v in expected.items() if v}
    assert fees.revenue() == shipper_fee + carrier_fee


def test_deduct_needs_a_completed_load(fees: Fees) -> None:
    fees.create("L2")
    before = fees.snapshot()
    with raises("PB004"):
        fees.deduct("L2", 10, 10)
    assert fees.snapshot() == before


@pytest.mark.parametrize(
    ("load", "shipper_fee", "carrier_fee", "code"),
    [
        ("L1", 0, 0, "22023"),
        ("L1", -1, 10, "22023"),
        ("L1", 10, -1, "22023"),
        ("L1", None, 10, "22023"),
        ("L1", 10, None, "22023"),
        ("L1", 2**63 - 1, 2**63 - 1, "22023"),
        ("", 10, 10, "22023"),
        (None, 10, 10, "22023"),
        ("nope", 10, 10, "PB005"),
        # PB001: either wallet short means nothing at all is deducted.
        ("L1", 1001, 10, "PB001"),
        ("L1", 10, 501, "PB001"),
    ],
)
def test_deduct_refusals_write_nothing(
    fees: Fees, load: Any, shipper_fee: Any, carrier_fee: Any, code: str
) -> None:
    before = fees.snapshot()
    with raises(code) as info:
        fees.deduct(load, shipper_fee, carrier_fee)
    assert fees.snapshot() == before
    if code == "PB001":
        assert {"available", "requested"} <= detail(info).keys()
    # A refused deduction leaves the load as it was: the right fees still go through.
    if load == "L1":
        assert fees.deduct("L1", 10, 10)["replayed"] is False


def test_deduct_from_a_closed_wallet_is_pb007(fees: Fees) -> None:
    fees.open_wallet("gone")
    fees.create("L2", "s", "gone")
    fees.complete("L2")
    # No API closes a wallet (ledger.close_account refuses pgb: codes): set up as the owner.
    fees.rows("UPDATE ledger.account SET closed_at = now() WHERE tenant_id = %s"
              " AND code = 'pgb:wallet:gone'", (fees.tenant,))  # fmt: skip
    before = fees.snapshot()
    with raises("PB007"):  # closed comes before funds in the check order
        fees.deduct("L2", 10, 10)
    assert fees.snapshot() == before


def test_refund_reverses_the_fee_entry_once(fees: Fees) -> None:
    before = fees.snapshot()
    with raises("PB004"):
        fees.refund("L1")
    assert fees.snapshot() == before

    deducted = fees.deduct("L1", 300, 200)
    row = fees.refund("L1", "load cancelled")
    assert row == {**deducted, "fee_status": "REFUNDED", "refund_entry_id": row["refund_entry_id"]}
    assert fees.legs(row["refund_entry_id"]) == {"pgb:wallet:s": 300, "pgb:wallet:c": 200,
                                                 REVENUE: -500}  # fmt: skip
    assert fees.call("ledger.get_entry", deducted["fee_entry_id"])["status"] == "reversed"
    assert (fees.wallet("s"), fees.wallet("c"), fees.revenue()) == (1000, 500, 0)

    entries = fees.entry_count()
    assert fees.refund("L1", "another reason") == {**row, "replayed": True}
    # The deduction itself replays with its current state; other fees are still PB003.
    assert fees.deduct("L1", 300, 200) == {**row, "replayed": True}
    with raises("PB003"):
        fees.deduct("L1", 1, 1)
    assert fees.entry_count() == entries


@pytest.mark.parametrize(
    ("load", "reason", "code"),
    [(None, None, "22023"), ("", None, "22023"), ("L1", "x" * 1001, "22023"),
     ("nope", None, "PB005"), ("L1", None, "PB004")],
)  # fmt: skip
def test_refund_refusals_write_nothing(fees: Fees, load: Any, reason: Any, code: str) -> None:
    before = fees.snapshot()
    with raises(code):
        fees.refund(load, reason)
    assert fees.snapshot() == before


def test_platform_revenue(fees: Fees) -> None:
    assert fees.revenue() == 0
    assert fees.revenue("JPY") == 0  # no account in that currency yet: still 0
    fees.deduct("L1", 5, 7)
    fees.create("L2")
    fees.complete("L2")
    fees.deduct("L2", 1, 0)
    assert fees.revenue() == 13
    for bad in (None, "", "eur", "EURO"):
        with raises("22023"):
            fees.revenue(bad)
    with raises("22023"):
        fees.rows("SELECT fees.platform_revenue(NULL, 'EUR')")


def test_tenants_do_not_see_each_other(fees: Fees) -> None:
    fees.deduct("L1", 5, 7)
    other = Fees(fees.conn, fees.tenant + "-other")
    assert other.revenue() == 0
    for call in (lambda: other.get("L1"), lambda: other.complete("L1"),
                 lambda: other.deduct("L1", 5, 7), lambda: other.refund("L1")):  # fmt: skip
        with raises("PB005"):
            call()
    with raises("PB005"):  # the wallets are the first tenant's too
        other.create("L1")
    # The same load id in another tenant is another load.
    other.open_wallet("s")
    other.open_wallet("c")
    assert other.create("L1")["replayed"] is False
    assert fees.get("L1")["fee_status"] == "DEDUCTED"


def test_get_load(fees: Fees) -> None:
    assert fees.get("L1")["status"] == "COMPLETED"
    for load, code in (("nope", "PB005"), ("", "22023"), (None, "22023")):
        with raises(code):
            fees.get(load)


def test_client_namespace(fees: Fees, wf_dsn: str) -> None:
    with Client(wf_dsn) as client:
        t = fees.tenant
        created = client.fees.create_load(t, "P1", "s", "c", "EUR")
        assert created == Load("P1", "CREATED", "NONE", None, None, None, None, False)
        assert client.fees.complete_load(t, "P1").status == "COMPLETED"
        deducted = client.fees.deduct_service_fee(t, "P1", 3, 4)
        assert (deducted.fee_status, deducted.shipper_fee, deducted.carrier_fee) == (
            "DEDUCTED", 3, 4)  # fmt: skip
        assert client.fees.platform_revenue(t, "EUR") == 7
        assert client.fees.get_load(t, "P1") == deducted
        refunded = client.fees.refund_service_fee(t, "P1", "test")
        assert refunded.fee_status == "REFUNDED" and refunded.refund_entry_id is not None
        with pytest.raises(errors.InvalidState):
            client.fees.refund_service_fee(t, "L1")
        with pytest.raises(errors.NotFound):
            client.fees.get_load(t, "nope")


def test_the_app_role_calls_functions_but_reads_no_table(fees: Fees) -> None:
    with fees.conn.transaction():
        fees.conn.execute("SET LOCAL ROLE pgbalance_app")
        fees.create("A1")
        fees.complete("A1")
        assert fees.deduct("A1", 2, 3)["fee_status"] == "DEDUCTED"
        assert fees.refund("A1")["fee_status"] == "REFUNDED"
        assert fees.get("A1")["refund_entry_id"] is not None
        assert fees.revenue() == 0
        for sql in ("SELECT * FROM fees.load", "SELECT fees._revenue_account('EUR')",
                    "UPDATE fees.load SET status = 'COMPLETED'"):  # fmt: skip
            with raises("42501"), fees.conn.transaction():
                fees.conn.execute(sql)
