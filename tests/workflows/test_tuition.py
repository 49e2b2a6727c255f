"""tuition: every function's contract behaviour and bad inputs (each documented SQLSTATE,
and nothing written), against the SQL contract as an application calls it."""

from __future__ import annotations

from typing import Any

import pytest

from pgbalance import errors
from pgbalance.client import Client
from pgbalance.workflows.tuition import Payment, TermOverview
from tests.kernel.support import detail, raises
from tests.workflows.fees_tuition_support import TERMS, Tuition, tu, wf_conn, wf_dsn

__all__ = ["tu", "wf_conn", "wf_dsn"]  # fixtures

CLEARING = "pgb:tuition:clearing:PHP"



def student_account(tu: Tuition) -> dict[str, Any]:
    return tu.account(tu.student_code("alice"))


def terms(tu: Tuition, student: str = "alice") -> list[tuple[Any, ...]]:
    """(term_no, paid, pending, effective_remaining, status, selectable) per term."""
    return [(t["term_no"], t["paid"], t["pending"], t["effective_remaining"], t["status"],
             t["selectable"]) for t in tu.overview(student)]  # fmt: skip


# -- create_assessment ---------------------------------------------------------------------
def test_create_assessment_again_and_differently(tu: Tuition) -> None:
    alice = tu.assess("alice", TERMS)
    assert tu.student_code("alice") == f"pgb:tuition:student:{alice}"
    # Whole numbers written as 1000.0 are the same amounts.
    assert tu.assess("alice", [{**t, "amount": float(t["amount"])} for t in TERMS]) == alice
    before = tu.snapshot()
    for other, currency in ((TERMS[:2], "PHP"), (list(reversed(TERMS)), "PHP"),
                            ([{**TERMS[0], "amount": 999}, *TERMS[1:]], "PHP"),
                            ([{**TERMS[0], "name": "Enrolment"}, *TERMS[1:]], "PHP"),
                            (TERMS, "USD")):  # fmt: skip
        with raises("PB003"):
            tu.assess("alice", other, currency)
    assert tu.snapshot() == before
    # The student account's ceiling is the assessed total; the clearing account is unbounded.
    account = student_account(tu)
    assert (account["currency"], account["min_balance"], account["max_balance"]) == ("PHP", 0, 2000)
    clearing = tu.account(CLEARING)
    assert (clearing["min_balance"], clearing["max_balance"]) == (None, None)
    assert tu.assess("bob", TERMS) != alice


@pytest.mark.parametrize(
    ("student", "currency", "terms_json"),
    [
        (None, "PHP", TERMS),
        ("", "PHP", TERMS),
        ("x" * 201, "PHP", TERMS),
        ("carol", "php", TERMS),
        ("carol", None, TERMS),
        ("carol", "PHP", None),
        ("carol", "PHP", []),
        ("carol", "PHP", {"name": "Prelim", "amount": 1}),
        ("carol", "PHP", [1000]),
        ("carol", "PHP", [{"name": "Prelim"}]),
        ("carol", "PHP", [{"amount": 5}]),
        ("carol", "PHP", [{"name": "", "amount": 5}]),
        ("carol", "PHP", [{"name": "Prelim", "amount": 0}]),
        ("carol", "PHP", [{"name": "Prelim", "amount": -5}]),
        ("carol", "PHP", [{"name": "Prelim", "amount": 1.5}]),
        ("carol", "PHP", [{"name": "Prelim", "amount": "500"}]),
        ("carol", "PHP", [{"name": "A", "amount": 2**63 - 1}, {"name": "B", "amount": 1}]),
    ],
)
def test_create_assessment_malformed_is_22023(
    tu: Tuition, student: Any, currency: Any, terms_json: Any
) -> None:
    before = tu.snapshot()
    with raises("22023"):
        tu.assess(student, terms_json, currency)
    assert tu.snapshot() == before


# -- submit_payment ------------------------------------------------------------------------
def test_submit_holds_the_payment_and_carries_the_excess_over(tu: Tuition) -> None:
    row = tu.submit("alice", 1, 1200, "r1")
    assert row == {"payment_id": row["payment_id"], "reference": "r1", "term_no": 1,
                   "amount": 1200, "status": "awaiting_approval",
                   "allocations": [{"term_no": 1, "amount": 1000}, {"term_no": 2, "amount": 200}],
                   "replayed": False}  # fmt: skip
    hold = tu.call("ledger.get_entry", tu.hold_of(row["payment_id"]))
    assert hold["status"] == "pending"
    assert {leg["account"]: leg["amount"] for leg in hold["legs"]} == {
        CLEARING: -1200, tu.student_code("alice"): 1200}
    account = student_account(tu)
    assert (account["balance"], account["pending_in"]) == (0, 1200)
    assert terms(tu) == [(1, 0, 1000, 0, "pending", False), (2, 0, 200, 300, "pending", False),
                         (3, 0, 0, 500, "unpaid", False)]  # fmt: skip

    entries = tu.entry_count()
    assert tu.submit("alice", 1, 1200, "r1") == {**row, "replayed": True}
    assert tu.entry_count() == entries
    tu.assess("bob", TERMS)
    before = tu.snapshot()
    for student, term_no, amount in (("alice", 1, 1201), ("alice", 2, 1200), ("bob", 1, 1200),
                                     ("nobody", 1, 1200)):  # fmt: skip
        with raises("PB003"):  # the reference is judged before every other rule
            tu.submit(student, term_no, amount, "r1")
    assert tu.snapshot() == before


def test_an_exact_payment_allocates_to_its_term_only(tu: Tuition) -> None:
    row = tu.submit("alice", 1, 1000, "r1")
    assert row["allocations"] == [{"term_no": 1, "amount": 1000}]
    assert terms(tu)[1] == (2, 0, 0, 500, "unpaid", True)


def test_submit_rules(tu: Tuition) -> None:
    before = tu.snapshot()
    with raises("PB004"):  # terms are paid in order
        tu.submit("alice", 2, 100, "r1")
    with raises("PB002") as info:  # more than all terms from 1 on
        tu.submit("alice", 1, 2001, "r1")
    assert (detail(info)["available"], detail(info)["pending"]) == ("2000", "0")
    with raises("PB005"):
        tu.submit("alice", 4, 100, "r1")
    with raises("PB005"):
        tu.submit("nobody", 1, 100, "r1")
    assert tu.snapshot() == before

    tu.submit("alice", 1, 400, "r1")
    before = tu.snapshot()
    with raises("PB008"):  # term 1 is still the one to pay, and it has a payment pending
        tu.submit("alice", 1, 100, "r2")
    with raises("PB004"):
        tu.submit("alice", 2, 100, "r2")
    assert tu.snapshot() == before

    paid = tu.approve(tu.submit("alice", 1, 400, "r1")["payment_id"])  # replayed submit
    assert paid["status"] == "paid"
    with raises("PB002") as info:  # 600 left on term 1, 1000 after it
        tu.submit("alice", 1, 1601, "r2")
    assert (detail(info)["available"], detail(info)["requested"]) == ("1600", "1601")
    tu.submit("alice", 1, 1000, "r2")  # 600 for term 1, 400 carried over to term 2
    with raises("PB008") as info:  # term 2 is next, with 400 of it pending
        tu.submit("alice", 2, 100, "r3")
    assert detail(info)["pending"] == "400"


@pytest.mark.parametrize(
    ("student", "term_no", "amount", "reference"),
    [(None, 1, 100, "r"), ("", 1, 100, "r"), ("alice", None, 100, "r"), ("alice", 0, 100, "r"),
     ("alice", -1, 100, "r"), ("alice", 1, None, "r"), ("alice", 1, 0, "r"),
     ("alice", 1, -100, "r"), ("alice", 1, 100, None), ("alice", 1, 100, ""),
     ("alice", 1, 100, "x" * 201)],
)  # fmt: skip
def test_submit_malformed_is_22023(
    tu: Tuition, student: Any, term_no: Any, amount: Any, reference: Any
) -> None:
    before = tu.snapshot()
    with raises("22023"):
        tu.submit(student, term_no, amount, reference)
    assert tu.snapshot() == before


def test_nothing_left_to_pay_is_pb004(tu: Tuition) -> None:
    tu.approve(tu.submit("alice", 1, 2000, "all")["payment_id"])
    assert [t["status"] for t in tu.overview("alice")] == ["paid", "paid", "paid"]
    assert not any(t["selectable"] for t in tu.overview("alice"))
    assert student_account(tu)["balance"] == 2000
    before = tu.snapshot()
    with raises("PB004"):
        tu.submit("alice", 1, 1, "more")
    with raises("PB004"):
        tu.submit("alice", 3, 1, "more")
    assert tu.snapshot() == before


# -- approve / reject ------------------------------------------------------------------------
def test_approve_captures_once(tu: Tuition) -> None:
    row = tu.submit("alice", 1, 1200, "r1")
    paid = tu.approve(row["payment_id"], "bursar")
    assert paid == {**row, "status": "paid"}
    assert tu.call("ledger.get_entry", tu.hold_of(row["payment_id"]))["status"] == "posted"
    account = student_account(tu)
    assert (account["balance"], account["pending_in"]) == (1200, 0)
    assert tu.account(CLEARING)["balance"] == -1200
    assert terms(tu) == [(1, 1000, 0, 0, "paid", False), (2, 200, 0, 300, "unpaid", True),
                         (3, 0, 0, 500, "unpaid", False)]  # fmt: skip
    entries = tu.entry_count()
    before = tu.snapshot()
    assert tu.approve(row["payment_id"], "someone else") == {**paid, "replayed": True}
    assert tu.snapshot() == before and tu.entry_count() == entries
    with raises("PB004"):
        tu.reject(row["payment_id"])
    assert tu.snapshot() == before


def test_reject_voids_the_hold_once(tu: Tuition) -> None:
    row = tu.submit("alice", 1, 1200, "r1")
    rejected = tu.reject(row["payment_id"], "bounced")
    assert rejected == {**row, "status": "rejected"}
    assert tu.call("ledger.get_entry", tu.hold_of(row["payment_id"]))["status"] == "voided"
    account = student_account(tu)
    assert (account["balance"], account["pending_in"]) == (0, 0)
    assert terms(tu)[0] == (1, 0, 0, 1000, "unpaid", True)
    before = tu.snapshot()
    assert tu.reject(row["payment_id"]) == {**rejected, "replayed": True}
    with raises("PB004"):
        tu.approve(row["payment_id"])
    assert tu.snapshot() == before
    # The same reference stays taken by the rejected payment; a new one pays the term.
    assert tu.submit("alice", 1, 1200, "r1") == {**rejected, "replayed": True}
    assert tu.submit("alice", 1, 1200, "r2")["status"] == "awaiting_approval"


def test_approvals_apply_fixed_allocations_in_any_order(tu: Tuition) -> None:
    first = tu.submit("alice", 1, 1000, "r1")
    second = tu.submit("alice", 2, 700, "r2")  # term 2 and 200 of term 3
    assert second["allocations"] == [{"term_no": 2, "amount": 500}, {"term_no": 3, "amount": 200}]
    tu.approve(second["payment_id"])
    assert terms(tu)[0] == (1, 0, 1000, 0, "pending", False)
    tu.approve(first["payment_id"])
    assert terms(tu) == [(1, 1000, 0, 0, "paid", False), (2, 500, 0, 0, "paid", False),
                         (3, 200, 0, 300, "unpaid", True)]  # fmt: skip


def test_rejecting_an_earlier_payment_reopens_its_terms(tu: Tuition) -> None:
    first = tu.submit("alice", 1, 1000, "r1")
    tu.submit("alice", 2, 700, "r2")
    tu.reject(first["payment_id"])
    assert terms(tu)[0] == (1, 0, 0, 1000, "unpaid", True)
    # Beyond term 1 the payment would carry over into term 3, where r2 waits (PB008: a term
    # never has two payments awaiting approval); term 1 alone is open again.
    with raises("PB008"):
        tu.submit("alice", 1, 1300, "r3")
    third = tu.submit("alice", 1, 1000, "r3")
    assert third["allocations"] == [{"term_no": 1, "amount": 1000}]


@pytest.mark.parametrize(("payment_id", "code"), [(None, "22023"), (10**12, "PB005")])
def test_approve_and_reject_refusals(tu: Tuition, payment_id: Any, code: str) -> None:
    tu.submit("alice", 1, 100, "r1")
    before = tu.snapshot()
    with raises(code):
        tu.approve(payment_id)
    with raises(code):
        tu.reject(payment_id)
    assert tu.snapshot() == before


def test_approver_and_reason_are_checked(tu: Tuition) -> None:
    row = tu.submit("alice", 1, 100, "r1")
    before = tu.snapshot()
    with raises("22023"):
        tu.approve(row["payment_id"], "")
    with raises("22023"):
        tu.reject(row["payment_id"], "x" * 1001)
    assert tu.snapshot() == before


# -- reading --------------------------------------------------------------------------------
def test_awaiting_approval_is_the_queue_oldest_first(tu: Tuition) -> None:
    assert tu.queue() == []
    tu.assess("bob", TERMS)
    a1 = tu.submit("alice", 1, 1000, "a1")
    b1 = tu.submit("bob", 1, 300, "b1")
    a2 = tu.submit("alice", 2, 100, "a2")
    tu.approve(b1["payment_id"])
    queue = tu.queue()
    assert [(q["reference"], q["student"]) for q in queue] == [("a1", "alice"), ("a2", "alice")]
    assert queue[0] == {**a1, "student": "alice"} and queue[1] == {**a2, "student": "alice"}
    assert Tuition(tu.conn, tu.tenant + "-other").queue() == []
    with raises("22023"):
        tu.rows("SELECT * FROM tuition.awaiting_approval(NULL)")


def test_overview_status_selectable_and_blocked_reason(tu: Tuition) -> None:
    def check() -> list[dict[str, Any]]:
        rows = tu.overview("alice")
        assert sum(r["selectable"] for r in rows) <= 1
        for r in rows:
            assert (r["blocked_reason"] is None) == r["selectable"], r
            assert r["remaining"] == r["amount"] - r["paid"]
            assert r["effective_remaining"] == r["remaining"] - r["pending"]
        return rows

    rows = check()
    assert [(r["term_no"], r["name"], r["amount"]) for r in rows] == [
        (1, "Upon Registration", 1000), (2, "Prelim", 500), (3, "Final", 500)]  # fmt: skip
    assert [r["selectable"] for r in rows] == [True, False, False]
    tu.approve(tu.submit("alice", 1, 1000, "r1")["payment_id"])
    tu.submit("alice", 2, 200, "r2")
    rows = check()
    assert [r["status"] for r in rows] == ["paid", "pending", "unpaid"]
    assert [r["selectable"] for r in rows] == [False, False, False]  # term 2 has one pending
    assert all(r["blocked_reason"] for r in rows)
    with raises("PB005"):
        tu.overview("nobody")
    for bad in (None, ""):
        with raises("22023"):
            tu.overview(bad)


def test_tenants_do_not_see_each_other(tu: Tuition) -> None:
    row = tu.submit("alice", 1, 100, "r1")
    other = Tuition(tu.conn, tu.tenant + "-other")
    with raises("PB005"):
        other.overview("alice")
    with raises("PB005"):
        other.submit("alice", 1, 100, "r1")
    with raises("PB005"):
        other.approve(row["payment_id"])
    with raises("PB005"):
        other.reject(row["payment_id"])
    # The same student and reference in another tenant are another assessment and payment.
    other.assess("alice", TERMS[:1])
    assert other.submit("alice", 1, 100, "r1")["replayed"] is False


def test_client_namespace(tu: Tuition, wf_dsn: str) -> None:
    t = tu.tenant
    with Client(wf_dsn) as client:
        alice = client.tuition.create_assessment(t, "alice", "PHP", TERMS)
        assert tu.student_code("alice") == f"pgb:tuition:student:{alice}"
        payment = client.tuition.submit_payment(t, "alice", 1, 1100, "c1")
        assert payment == Payment(payment.payment_id, "c1", 1, 1100, "awaiting_approval",
                                  [{"term_no": 1, "amount": 1000}, {"term_no": 2, "amount": 100}],
                                  False)  # fmt: skip
        with pytest.raises(errors.DuplicatePending):
            client.tuition.submit_payment(t, "alice", 2, 100, "c2")
        queued = client.tuition.awaiting_approval(t)
        assert [(q.payment_id, q.student) for q in queued] == [(payment.payment_id, "alice")]
        assert client.tuition.approve_payment(t, payment.payment_id, "bursar").status == "paid"
        with pytest.raises(errors.InvalidState):
            client.tuition.reject_payment(t, payment.payment_id)
        second = client.tuition.submit_payment(t, "alice", 2, 100, "c2")
        assert client.tuition.reject_payment(t, second.payment_id, "no").status == "rejected"
        overview = client.tuition.overview(t, "alice")
        assert overview[1] == TermOverview(2, "Prelim", 500, 100, 0, 400, 400, "unpaid", True, None)


def test_the_app_role_calls_functions_but_reads_no_table(tu: Tuition) -> None:
    with tu.conn.transaction():
        tu.conn.execute("SET LOCAL ROLE pgbalance_app")
        tu.assess("dave", TERMS)
        first = tu.submit("dave", 1, 1000, "d1")
        second = tu.submit("dave", 2, 100, "d2")
        assert [p["reference"] for p in tu.queue()] == ["d1", "d2"]
        assert tu.approve(first["payment_id"])["status"] == "paid"
        assert tu.reject(second["payment_id"])["status"] == "rejected"
        assert [t["status"] for t in tu.overview("dave")] == ["paid", "unpaid", "unpaid"]
        for sql in ("SELECT * FROM tuition.payment", "SELECT * FROM tuition._terms('x', 1)",
                    "UPDATE tuition.payment SET status = 'paid'"):  # fmt: skip
            with raises("42501"), tu.conn.transaction():
                tu.conn.execute(sql)
