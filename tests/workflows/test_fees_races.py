"""fees under contention: 20 connections released together per rule, then ledger.verify()."""

from __future__ import annotations

from collections import Counter
from typing import Any

import psycopg
import pytest

from tests.helpers.barrier import assert_raced, run_parallel, sqlstates, values
from tests.workflows.fees_tuition_support import Fees, wf_conn, wf_dsn

__all__ = ["wf_conn", "wf_dsn"]  # module-scoped database fixtures

pytestmark = pytest.mark.concurrency
N = 20


@pytest.fixture
def fees(wf_conn: psycopg.Connection[Any], tenant: str) -> Any:
    api = Fees(wf_conn, tenant)
    yield api
    assert api.verify() == []


def deduct(tenant: str, load: str, shipper_fee: int, carrier_fee: int) -> Any:
    def call(conn: psycopg.Connection[Any], i: int) -> Any:
        return conn.execute(
            "SELECT replayed FROM fees.deduct_service_fee(%s, %s, %s, %s)",
            (tenant, load, shipper_fee, carrier_fee),
        ).fetchone()

    return call


def test_deductions_and_purchases_race_for_one_wallet(fees: Fees, wf_dsn: str) -> None:
    """10 fee deductions and 10 purchases of 100 each, against a shipper wallet of 1000:
    exactly 10 take effect, whichever they are; the wallet ends at 0, never below."""
    fees.open_wallet("s", topup=1000)
    fees.open_wallet("c", topup=1000)
    for i in range(N // 2):
        fees.create(f"L{i}")
        fees.complete(f"L{i}")

    def call(conn: psycopg.Connection[Any], i: int) -> str:
        if i % 2 == 0:
            conn.execute("SELECT * FROM fees.deduct_service_fee(%s, %s, 100, 1)",
                         (fees.tenant, f"L{i // 2}"))  # fmt: skip
            return "fee"
        conn.execute("SELECT * FROM wallet.purchase(%s, 's', 100, %s)", (fees.tenant, f"p{i}"))
        return "purchase"

    outcomes = run_parallel(wf_dsn, N, call)
    assert_raced(outcomes)
    assert sqlstates(outcomes) == Counter({"ok": 10, "PB001": 10})
    fees_taken = sum(1 for o in outcomes if o.value == "fee")
    assert fees.wallet("s") == 0
    assert fees.wallet("c") == 1000 - fees_taken
    assert fees.revenue() == 101 * fees_taken
    deducted = fees.rows("SELECT count(*) AS n FROM fees.load WHERE tenant_id = %s"
                         " AND fee_status = 'DEDUCTED'", (fees.tenant,))  # fmt: skip
    assert deducted == [{"n": fees_taken}]


def test_loads_with_opposite_roles_never_deadlock(fees: Fees, wf_dsn: str) -> None:
    """Half the loads ship from a to b, half from b to a: the kernel locks wallets in one
    order, so every deduction succeeds (no 40P01)."""
    fees.open_wallet("a", topup=1000)
    fees.open_wallet("b", topup=1000)
    for i in range(N):
        fees.create(f"L{i}", *(("a", "b") if i % 2 else ("b", "a")))
        fees.complete(f"L{i}")
    outcomes = run_parallel(wf_dsn, N, lambda conn, i: deduct(fees.tenant, f"L{i}", 7, 3)(conn, i))
    assert_raced(outcomes)
    assert sqlstates(outcomes) == Counter({"ok": N})
    assert (fees.wallet("a"), fees.wallet("b"), fees.revenue()) == (900, 900, 200)


def test_repeated_deductions_take_effect_once(fees: Fees, wf_dsn: str) -> None:
    fees.open_wallet("s", topup=1000)
    fees.open_wallet("c", topup=1000)
    fees.create("L1")
    fees.complete("L1")
    entries = fees.entry_count()
    outcomes = run_parallel(wf_dsn, N, deduct(fees.tenant, "L1", 100, 50))
    assert_raced(outcomes)
    assert Counter(values(outcomes)) == Counter({(False,): 1, (True,): N - 1})
    assert fees.entry_count() == entries + 1
    assert (fees.wallet("s"), fees.wallet("c"), fees.revenue()) == (900, 950, 150)


def test_repeated_refunds_refund_once(fees: Fees, wf_dsn: str) -> None:
    fees.open_wallet("s", topup=1000)
    fees.open_wallet("c", topup=1000)
    fees.create("L1")
    fees.complete("L1")
    fees.deduct("L1", 100, 50)
    entries = fees.entry_count()

    def refund(conn: psycopg.Connection[Any], i: int) -> Any:
        return conn.execute("SELECT replayed FROM fees.refund_service_fee(%s, 'L1', %s)",
                            (fees.tenant, f"retry {i}")).fetchone()  # fmt: skip

    outcomes = run_parallel(wf_dsn, N, refund)
    assert_raced(outcomes)
    assert Counter(values(outcomes)) == Counter({(False,): 1, (True,): N - 1})
    assert fees.entry_count() == entries + 1
    assert (fees.wallet("s"), fees.wallet("c"), fees.revenue()) == (1000, 1000, 0)
