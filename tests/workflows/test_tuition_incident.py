"""The tuition incident replayed step by step in two sessions: a student submitted two
payments for one installment before approval and both were applied. Against the unprotected
check-then-insert the timeline must show both applied (proof the test can fail); against
pgbalance the second submission waits for the first (pg_blocking_pids), then gets PB008,
and approving the queue applies one payment."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from pgbalance.harness import naive
from pgbalance.harness.incidents import INCIDENTS
from pgbalance.harness.incidents.tuition import (
    NAIVE_SQL,
    PAYMENT,
    STUDENT,
    TERM_AMOUNT,
    TuitionDoubleSubmit,
    params,
)
from tests.helpers.scheduler import Scheduler
from tests.workflows.fees_tuition_support import Tuition, wf_conn, wf_dsn

__all__ = ["wf_conn", "wf_dsn"]  # module-scoped database fixtures

NAIVE = NAIVE_SQL
P = {"A": params(0), "B": params(1)}  # two submissions of PAYMENT for term 1
assert PAYMENT < TERM_AMOUNT < 2 * PAYMENT


def test_unprotected_timeline_applies_both(wf_dsn: str) -> None:
    with naive.installed(wf_dsn, "tuition", NAIVE, P["A"], ("schema",)) as naive_dsn:
        with Scheduler(naive_dsn) as sched:
            a, b = sched.session("A"), sched.session("B")
            # Both submissions check before either inserts: no payment pending for term 1.
            assert a.step(NAIVE["check"], P["A"]).value is True
            assert b.step(NAIVE["check"], P["B"]).value is True
            assert a.step(NAIVE["submit"], P["A"]).status == "done"
            assert b.step(NAIVE["submit"], P["B"]).status == "done"  # nothing stops it
            assert a.step(NAIVE["approve_all"]).status == "done"  # accounting approves the queue
            payments, amount = a.step(NAIVE["paid"], P["A"]).rows[0]  # type: ignore[index]
    # Both applied: the installment is paid twice over, more than it costs.
    assert (payments, amount) == (2, 2 * PAYMENT)
    assert amount > TERM_AMOUNT


def test_pgbalance_timeline_refuses_the_second(wf_conn: psycopg.Connection[Any], wf_dsn: str,
                                               tenant: str) -> None:  # fmt: skip
    tu = Tuition(wf_conn, tenant)
    tu.assess(STUDENT, [{"name": "Upon Registration", "amount": TERM_AMOUNT},
                        {"name": "Prelim", "amount": TERM_AMOUNT}])  # fmt: skip
    submit = "SELECT status FROM tuition.submit_payment(%s, %s, 1, %s, %s)"
    with Scheduler(wf_dsn) as sched:
        a, b = sched.session("A"), sched.session("B")
        assert a.step("BEGIN").status == "done"
        assert a.step(submit, (tenant, STUDENT, PAYMENT, "pay-0")).value == "awaiting_approval"
        # B submits for the same term while A's transaction is open: it waits on the
        # assessment row A locked, and decides only once A's payment is visible.
        assert b.step(submit, (tenant, STUDENT, PAYMENT, "pay-1")).status == "blocked"
        assert a.pid in a.step("SELECT pg_blocking_pids(%s)", (b.pid,)).value
        assert a.step("COMMIT").status == "done"
        refused = b.finish()
        assert (refused.status, refused.sqlstate) == ("error", "PB008")
    queue = tu.queue()
    assert [p["reference"] for p in queue] == ["pay-0"]
    tu.approve(queue[0]["payment_id"])
    term1 = tu.overview(STUDENT)[0]
    assert (term1["paid"], term1["pending"]) == (PAYMENT, 0)
    assert tu.account(tu.student_code(STUDENT))["balance"] == PAYMENT
    assert tu.verify() == []


@pytest.mark.concurrency
def test_incident_replay_reports_double_payments_only_for_the_unprotected_pattern(
    wf_dsn: str,
) -> None:
    incident = TuitionDoubleSubmit()
    assert any(isinstance(i, TuitionDoubleSubmit) for i in INCIDENTS)
    naive = incident.run_unprotected(wf_dsn, 6)
    assert naive.effects_applied > 1 and naive.money_wrongly_moved > 0 and naive.anomalies > 0
    protected = incident.run_protected(wf_dsn, 6)
    assert (protected.effects_applied, protected.expected_effects) == (1, 1)
    assert protected.money_wrongly_moved == 0 and protected.verify_clean
    assert protected.anomalies == 0
