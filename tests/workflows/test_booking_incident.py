"""The booking incident, replayed step by step: two balance-payment webhooks for one booking
both pass the handler's check before either applies, and the balance is applied twice.

The unprotected pattern (pgbalance/harness/naive/booking.sql) runs in a scratch schema
and MUST show the double application: the proof these tests can fail.
Against pgbalance the second webhook is shown blocked on the booking row (pg_blocking_pids),
then replayed or kept unapplied: the balance is applied once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from pgbalance.harness import naive
from pgbalance.harness.incidents import INCIDENTS
from pgbalance.harness.incidents import booking as incident
from tests.helpers.scheduler import Scheduler
from tests.workflows.incident_support import blocked_by
from tests.workflows.wallet_booking_support import Api, wb_conn, wb_dsn

__all__ = ["wb_conn", "wb_dsn"]  # module fixtures

NAIVE = incident.NAIVE_SQL
OUT = incident.OUTSTANDING
BOOKING = incident.BOOKING


@pytest.fixture
def naive_dsn(wb_dsn: str) -> Iterator[str]:
    with naive.installed(wb_dsn, "booking", NAIVE, incident.params("-"), ("schema",)) as dsn:
        yield dsn


@pytest.mark.parametrize("refs", [("pay-1", "pay-1"), ("pay-1", "pay-2")],
                         ids=["provider-retry", "second-payment"])  # fmt: skip
def test_unprotected_timeline_applies_the_balance_twice(
    naive_dsn: str, refs: tuple[str, str]
) -> None:
    pa, pb = incident.params(refs[0]), incident.params(refs[1])
    with Scheduler(naive_dsn) as sched:
        a, b = sched.session("A"), sched.session("B")
        assert a.step(NAIVE["check"], pa).value is True  # T1 A: deposit paid, amount due
        assert b.step(NAIVE["check"], pb).value is True  # T2 B: the same, before A applies
        a.step(NAIVE["apply"], pa)  # T3 A applies
        a.step(NAIVE["record"], pa)
        b.step(NAIVE["apply"], pb)  # T4 B applies too: it decided at T2
        b.step(NAIVE["record"], pb)
        paid = a.step(NAIVE["paid"], pa).value
    assert paid == 2 * OUT  # the double effect


@pytest.mark.parametrize(("ref_b", "already_paid"), [("pay-1", False), ("pay-2", True)],
                         ids=["provider-retry", "second-payment"])  # fmt: skip
def test_pgbalance_blocks_the_second_webhook_then_applies_nothing(
    wb_dsn: str, wb_conn: psycopg.Connection[Any], tenant: str, ref_b: str, already_paid: bool
) -> None:
    api = Api(wb_conn, tenant)
    api.call("booking.create", BOOKING, incident.TOTAL, incident.DEPOSIT, "EUR")
    api.call("booking.record_deposit", BOOKING, incident.DEPOSIT, "d1")
    pay = "SELECT replayed, already_paid FROM booking.complete_balance_payment(%s, %s, %s, %s)"
    with Scheduler(wb_dsn) as sched:
        a, b = sched.session("A"), sched.session("B")
        a.step("BEGIN")
        # T1 A: locks the booking, checks, applies (not yet committed).
        assert a.step(pay, (tenant, BOOKING, OUT, "pay-1")).rows == [(False, False)]
        # T2 B: cannot even check: it waits for the booking row A holds.
        assert b.step(pay, (tenant, BOOKING, OUT, ref_b)).status == "blocked"
        assert blocked_by(wb_conn, b.pid, a.pid)
        a.step("COMMIT")  # T3
        # T4 B decides on what A committed: a replay, or a payment kept unapplied.
        assert b.finish().rows == [(ref_b == "pay-1", already_paid)]
    assert api.account_balance(f"pgb:booking:{BOOKING}") == incident.TOTAL
    kept = [p["payment_ref"] for p in api.call_rows("booking.unapplied_payments", BOOKING)]
    assert kept == ([] if ref_b == "pay-1" else ["pay-2"])
    assert api.verify() == []


def test_the_incident_runs_both_ways(wb_dsn: str) -> None:
    assert incident.BookingDuplicateWebhooks in {type(i) for i in INCIDENTS}
    replay = incident.BookingDuplicateWebhooks()
    naive = replay.run_unprotected(wb_dsn, 20)
    assert naive.effects_applied == 20 and naive.money_wrongly_moved == 19 * OUT
    assert naive.anomalies > 0
    protected = replay.run_protected(wb_dsn, 20)
    assert (protected.effects_applied, protected.money_wrongly_moved) == (1, 0)
    assert protected.verify_clean and protected.anomalies == 0
