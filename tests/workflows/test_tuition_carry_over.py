"""tuition: a payment may not allocate to any term, the chosen one or one it carries over
into, that already has an allocation awaiting approval (PB008), so a term never has two
payments awaiting approval. The review's case: terms T1 100, T2 100; P1 100 on T1; P2 50 on
T2; reject P1; P3 150 on T1 was accepted and left T2 with two payments awaiting approval
(approving P2 and rejecting P3 then paid T2 while T1 was unpaid)."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.kernel.support import detail, raises
from tests.workflows.fees_tuition_support import Tuition, wf_conn, wf_dsn

__all__ = ["wf_conn", "wf_dsn"]  # module-scoped database fixtures


def awaiting_per_term(tu: Tuition) -> dict[int, int]:
    """term_no -> number of payments awaiting approval that allocate to it."""
    rows = tu.rows(
        "SELECT a.term_no, count(*) AS n FROM tuition.allocation AS a"
        " JOIN tuition.payment AS p ON p.tenant_id = a.tenant_id AND p.payment_id = a.payment_id"
        " WHERE a.tenant_id = %s AND p.status = 'awaiting_approval' GROUP BY a.term_no",
        (tu.tenant,),
    )
    return {r["term_no"]: r["n"] for r in rows}


def test_a_payment_may_not_carry_over_into_a_term_with_a_pending_payment(
    wf_conn: psycopg.Connection[Any], tenant: str
) -> None:
    tu = Tuition(wf_conn, tenant)
    tu.assess("s", [{"name": "T1", "amount": 100}, {"name": "T2", "amount": 100}])
    p1 = tu.submit("s", 1, 100, "P1")["payment_id"]
    p2 = tu.submit("s", 2, 50, "P2")["payment_id"]
    tu.reject(p1)
    before = tu.snapshot()
    with raises("PB008") as info:
        tu.submit("s", 1, 150, "P3")  # 100 to T1, 50 carried over into T2, where P2 waits
    assert (detail(info)["term_no"], detail(info)["pending_term_no"],
            detail(info)["pending"]) == ("1", "2", "50")  # fmt: skip
    assert info.value.diag.message_hint
    assert tu.snapshot() == before
    # What stays within T1 is accepted; the reference refused above is free again.
    p3 = tu.submit("s", 1, 100, "P3")
    assert p3["allocations"] == [{"term_no": 1, "amount": 100}]
    assert awaiting_per_term(tu) == {1: 1, 2: 1}
    tu.approve(p2)
    tu.approve(p3["payment_id"])
    paid = {t["term_no"]: (t["paid"], t["status"]) for t in tu.overview("s")}
    assert paid == {1: (100, "paid"), 2: (50, "unpaid")}
    assert tu.verify() == []


def test_a_carry_over_past_a_fully_pending_term_is_refused_too(
    wf_conn: psycopg.Connection[Any], tenant: str
) -> None:
    """T2 entirely covered by a pending payment: a payment on T1 reaching past it to T3
    allocates nothing to T2 but still may not be accepted while T3 would get a second one."""
    tu = Tuition(wf_conn, tenant)
    tu.assess("s", [{"name": "T1", "amount": 100}, {"name": "T2", "amount": 100},
                    {"name": "T3", "amount": 100}])  # fmt: skip
    p1 = tu.submit("s", 1, 100, "P1")["payment_id"]
    tu.submit("s", 2, 150, "P2")  # T2 100 and T3 50 pending
    tu.reject(p1)
    before = tu.snapshot()
    with raises("PB008") as info:
        tu.submit("s", 1, 200, "P3")  # T1 100, T2 nothing open, T3 50 open but pending
    assert detail(info)["pending_term_no"] == "2"  # the first pending term it would pass
    assert tu.snapshot() == before
    assert max(awaiting_per_term(tu).values()) == 1
    assert tu.verify() == []


def test_a_carry_over_never_jumps_a_pending_term(
    wf_conn: psycopg.Connection[Any], tenant: str
) -> None:
    """The review's case: T2 fully pending (P2) gets no share of P3 on T1, so only the terms
    with a share were checked and P3 went T1 100 + T3 100; rejecting P2 and approving P3 then
    left T2 unpaid between two paid terms."""
    tu = Tuition(wf_conn, tenant)
    tu.assess("s", [{"name": "T1", "amount": 100}, {"name": "T2", "amount": 100},
                    {"name": "T3", "amount": 100}])  # fmt: skip
    p1 = tu.submit("s", 1, 100, "P1")["payment_id"]
    p2 = tu.submit("s", 2, 100, "P2")["payment_id"]
    tu.reject(p1)
    before = tu.snapshot()
    with raises("PB008") as info:
        tu.submit("s", 1, 200, "P3")
    assert (detail(info)["term_no"], detail(info)["pending_term_no"]) == ("1", "2")
    assert tu.snapshot() == before
    # Within T1 it is accepted; once P2 is settled, the rest may carry over.
    p3 = tu.submit("s", 1, 100, "P3")["payment_id"]
    tu.reject(p2)
    tu.approve(p3)
    status = {t["term_no"]: t["status"] for t in tu.overview("s")}
    assert status == {1: "paid", 2: "unpaid", 3: "unpaid"}
    assert tu.verify() == []
