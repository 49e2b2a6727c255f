"""tuition under contention: 20 connections released together per rule, then
ledger.verify()."""

from __future__ import annotations

from collections import Counter
from typing import Any

import psycopg
import pytest

from tests.helpers.barrier import assert_raced, run_parallel, sqlstates, values
from tests.workflows.fees_tuition_support import TERMS, Tuition, tu, wf_conn, wf_dsn

__all__ = ["tu", "wf_conn", "wf_dsn"]  # fixtures

pytestmark = pytest.mark.concurrency
N = 20
# One reference from N connections: the first call stays uncommitted this long (run_parallel).
LINGER = 0.02



def submit(tenant: str, term_no: int, amount: Any, reference: Any) -> Any:
    def call(conn: psycopg.Connection[Any], i: int) -> Any:
        return conn.execute(
            "SELECT replayed FROM tuition.submit_payment(%s, 'alice', %s, %s, %s)",
            (tenant, term_no, amount(i) if callable(amount) else amount,
             reference(i) if callable(reference) else reference),
        ).fetchone()  # fmt: skip

    return call


def test_twenty_submissions_for_one_term_one_accepted(tu: Tuition, wf_dsn: str) -> None:
    """Half pay the whole term, half part of it: whichever wins, the rest are refused:
    PB008 while the term still has something to pay (it has a payment pending), PB004 once
    it is covered (term 2 is next)."""
    amount = lambda i: 1000 if i % 2 else 400  # noqa: E731
    outcomes = run_parallel(wf_dsn, N, submit(tu.tenant, 1, amount, lambda i: f"r{i}"))
    assert_raced(outcomes)
    winners = [o for o in outcomes if o.ok]
    assert len(winners) == 1
    refusal = "PB004" if amount(winners[0].index) == 1000 else "PB008"
    assert sqlstates(outcomes) == Counter({"ok": 1, refusal: N - 1})
    (payment,) = tu.queue()
    assert payment["reference"] == f"r{winners[0].index}"
    assert tu.account(tu.student_code("alice"))["pending_in"] == amount(winners[0].index)


def test_one_reference_submitted_twenty_times_is_one_payment(tu: Tuition, wf_dsn: str) -> None:
    outcomes = run_parallel(wf_dsn, N, submit(tu.tenant, 1, 1200, "r1"), linger=LINGER)
    assert_raced(outcomes)
    assert Counter(values(outcomes)) == Counter({(False,): 1, (True,): N - 1})
    assert [p["reference"] for p in tu.queue()] == ["r1"]
    assert tu.account(tu.student_code("alice"))["pending_in"] == 1200


def test_approve_against_reject_has_one_winner(tu: Tuition, wf_dsn: str) -> None:
    payment_id = tu.submit("alice", 1, 1000, "r1")["payment_id"]

    def decide(conn: psycopg.Connection[Any], i: int) -> Any:
        fn = "approve_payment" if i % 2 else "reject_payment"
        row = conn.execute(f"SELECT status, replayed FROM tuition.{fn}(%s, %s)",
                           (tu.tenant, payment_id)).fetchone()  # fmt: skip
        return fn, row

    outcomes = run_parallel(wf_dsn, N, decide)
    assert_raced(outcomes)
    fresh = [o.value for o in outcomes if o.ok and o.value[1][1] is False]  # type: ignore[index]
    assert len(fresh) == 1
    won, (status, _) = fresh[0]  # type: ignore[misc]
    # The winner's side replays; the other side is refused.
    assert sqlstates(outcomes) == Counter({"ok": N // 2, "PB004": N // 2})
    assert all(o.value[0] == won for o in outcomes if o.ok)  # type: ignore[index]
    account = tu.account(tu.student_code("alice"))
    assert (account["balance"], account["pending_in"]) == (
        (1000, 0) if status == "paid" else (0, 0))  # fmt: skip


def test_concurrent_approvals_of_different_payments(tu: Tuition, wf_dsn: str) -> None:
    """Ten students with two payments each (the second carried over into term 3): all twenty
    approved at once, in any order, each applied once."""
    students = [f"s{i}" for i in range(N // 2)]
    payment_ids = []
    for s in students:
        tu.assess(s, TERMS)
        payment_ids.append(tu.call("tuition.submit_payment", s, 1, 1000, f"{s}-1")["payment_id"])
        payment_ids.append(tu.call("tuition.submit_payment", s, 2, 700, f"{s}-2")["payment_id"])

    def approve(conn: psycopg.Connection[Any], i: int) -> Any:
        return conn.execute("SELECT status, replayed FROM tuition.approve_payment(%s, %s)",
                            (tu.tenant, payment_ids[-1 - i])).fetchone()  # fmt: skip

    outcomes = run_parallel(wf_dsn, N, approve)
    assert_raced(outcomes)
    assert Counter(values(outcomes)) == Counter({("paid", False): N})
    for s in students:
        paid = [(t["paid"], t["pending"]) for t in tu.overview(s)]
        assert paid == [(1000, 0), (500, 0), (200, 0)]
        assert tu.account(tu.student_code(s))["balance"] == 1700
    assert tu.account("pgb:tuition:clearing:PHP")["balance"] == -1700 * len(students)
    assert tu.queue() == []
