"""booking under contention: webhooks from 20+ connections released together. The balance is
applied exactly once, every other payment is replayed or kept (nothing lost), and
ledger.verify is clean after each race."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.helpers.barrier import assert_raced, run_parallel, sqlstates
from tests.workflows.wallet_booking_support import Api, wb_conn, wb_dsn

__all__ = ["wb_conn", "wb_dsn"]  # module fixtures
pytestmark = pytest.mark.concurrency

TOTAL, DEPOSIT = 10_000, 2_000
BALANCE = TOTAL - DEPOSIT
PAY = "SELECT replayed, already_paid FROM booking.complete_balance_payment(%s, 'b1', %s, %s)"


@pytest.fixture
def api(wb_conn: psycopg.Connection[Any], tenant: str) -> Iterator[Api]:
    a = Api(wb_conn, tenant)
    a.call("booking.create", "b1", TOTAL, DEPOSIT, "EUR")
    yield a
    assert a.verify() == []


def test_20_distinct_and_duplicate_balance_webhooks_apply_once_and_lose_nothing(
    api: Api, wb_dsn: str
) -> None:
    api.call("booking.record_deposit", "b1", DEPOSIT, "d1")
    n = 40  # 20 retries of one payment_ref, 20 distinct payments

    def ref(i: int) -> str:
        return "pay-1" if i % 2 == 0 else f"pay-dup-{i}"

    def webhook(conn: psycopg.Connection[Any], i: int) -> Any:
        return conn.execute(PAY, (api.tenant, BALANCE, ref(i))).fetchone()

    outcomes = run_parallel(wb_dsn, n, webhook)
    assert_raced(outcomes)
    assert sqlstates(outcomes) == {"ok": n}
    calls: dict[str, Counter[tuple[bool, bool]]] = {}
    for o in outcomes:
        calls.setdefault(ref(o.index), Counter())[tuple(o.value)] += 1
    applied = [r for r, c in calls.items() if c[(False, False)]]
    assert len(applied) == 1 and calls[applied[0]][(False, False)] == 1
    for r, c in calls.items():
        assert sum(k for (replayed, _), k in c.items() if not replayed) == 1, (r, c)
        if r == applied[0]:
            assert set(c) <= {(False, False), (True, False)}
        else:
            assert set(c) <= {(False, True), (True, True)}
    kept = {p["payment_ref"] for p in api.call_rows("booking.unapplied_payments", "b1")}
    assert kept == set(calls) - set(applied)  # every other payment kept for a refund
    assert api.account_balance("pgb:booking:b1") == TOTAL
    row = api.call("booking.get", "b1")
    assert (row["status"], row["balance_paid_amount"], row["outstanding"]) == ("PAID", BALANCE, 0)


def test_20_deposit_webhooks_with_distinct_refs_record_one_deposit(api: Api, wb_dsn: str) -> None:
    def deposit(conn: psycopg.Connection[Any], i: int) -> Any:
        return conn.execute("SELECT replayed FROM booking.record_deposit(%s, 'b1', %s, %s)",
                            (api.tenant, DEPOSIT, f"d{i}")).fetchone()  # fmt: skip

    outcomes = run_parallel(wb_dsn, 20, deposit)
    assert_raced(outcomes)
    assert sqlstates(outcomes) == {"ok": 1, "PB004": 19}
    assert api.account_balance("pgb:booking:b1") == DEPOSIT


def test_balance_webhooks_racing_the_deposit_apply_at_most_once(api: Api, wb_dsn: str) -> None:
    def act(conn: psycopg.Connection[Any], i: int) -> Any:
        if i % 2:
            return conn.execute("SELECT 'deposit', replayed FROM booking.record_deposit"
                                "(%s, 'b1', %s, 'd1')", (api.tenant, DEPOSIT)).fetchone()
        return conn.execute("SELECT 'balance', replayed FROM booking.complete_balance_payment"
                            "(%s, 'b1', %s, 'x1')", (api.tenant, BALANCE)).fetchone()

    outcomes = run_parallel(wb_dsn, 20, act)
    assert_raced(outcomes)
    got = Counter(tuple(o.value) if o.ok else o.sqlstate for o in outcomes)
    assert got[("deposit", False)] == 1 and got[("deposit", False)] + got[("deposit", True)] == 10
    # A balance webhook before the deposit is PB004 (nothing recorded); after it, applied once.
    assert set(got) <= {("deposit", False), ("deposit", True), ("balance", False),
                        ("balance", True), "PB004"}  # fmt: skip
    applied = got[("balance", False)]
    assert applied <= 1
    row = api.call("booking.get", "b1")
    assert row["status"] == ("PAID" if applied else "DEPOSIT_PAID")
    assert api.account_balance("pgb:booking:b1") == (TOTAL if applied else DEPOSIT)
