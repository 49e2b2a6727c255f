"""The `tuition` scenario: students with three installment terms; payments submitted for the
term the client believes is next (often stale: another worker just paid it), approved and
rejected by several workers at once, approved twice, submitted twice.

The oracle: per reference exactly one payment matching every acknowledged submission; a
payment is never both approved and rejected, and its ledger hold is captured exactly when it
is paid and voided exactly when it is rejected; no term is ever paid (or paid plus pending)
beyond its amount and no term has two payments awaiting approval; each student account
holds what the acknowledged approvals imply, and awaits what is still pending.
"""

from __future__ import annotations

import random
import threading
from typing import Any, ClassVar

from psycopg.types.json import Jsonb

from pgbalance.harness.stress.model import Anomaly, Call, Conn, Op
from pgbalance.harness.stress.workload.base import (
    Recent,
    Scenario,
    account_balances,
    by_key,
    by_subject,
    compare_balances,
    exactly_once,
    fetch,
    fetch_by,
    load_entries,
    took_effect_once,
)

CURRENCY = "EUR"
TERMS = [
    {"name": "Upon Registration", "amount": 30_000},
    {"name": "Midterm", "amount": 25_000},
    {"name": "Finals", "amount": 25_000},
]
CREATE_REJECTS: frozenset[str] = frozenset()
SUBMIT_REJECTS = frozenset({"PB002", "PB003", "PB004", "PB008"})
DECIDE_REJECTS = frozenset({"PB004"})
AMOUNTS = (5_000, 10_000, 20_000, 25_000, 30_000, 40_000, 90_000)


class Tuition(Scenario):
    name = "tuition"
    requires: ClassVar[tuple[str, ...]] = (
        "tuition.create_assessment",
        "tuition.submit_payment",
        "tuition.approve_payment",
        "tuition.reject_payment",
        "tuition.overview",
    )
    prefix = "tu-"

    def __init__(self, tenant: str, seed: int) -> None:
        super().__init__(tenant, seed)
        self.recent: Recent[Call] = Recent(6)
        self.students: Recent[str] = Recent(3)
        self.payments: Recent[tuple[int, str, int]] = Recent(4)  # (payment_id, student, term)
        self.cursor: dict[str, int] = {}  # the term a client believes is next (a hint only)
        self.lock = threading.Lock()

    def setup(self, conn: Conn) -> None:
        for _ in range(2):
            student = self.fresh(f"{self.prefix}s")
            self.create_call(student).execute(conn)
            self.students.push(student)

    # -- calls ---------------------------------------------------------------------------
    def create_call(self, student: str) -> Call:
        return Call(
            self.name,
            "create_assessment",
            f"student:{student}",
            {"student": student},
            CREATE_REJECTS,
            "SELECT * FROM tuition.create_assessment(%s, %s, %s, %s)",
            (self.tenant, student, CURRENCY, Jsonb(TERMS)),
            reports_replay=False,
        )

    def submit_call(self, student: str, term_no: int, amount: int, ref: str) -> Call:
        return Call(
            self.name,
            "submit",
            ref,
            {"ref": ref, "student": student, "term_no": term_no, "amount": amount},
            SUBMIT_REJECTS,
            "SELECT * FROM tuition.submit_payment(%s, %s, %s::int, %s::bigint, %s)",
            (self.tenant, student, term_no, amount, ref),
        )

    def decide_call(self, kind: str, payment_id: int) -> Call:
        fn = "approve_payment" if kind == "approve" else "reject_payment"
        return Call(
            self.name,
            kind,
            f"payment:{payment_id}",
            {"payment_id": payment_id},
            DECIDE_REJECTS,
            f"SELECT * FROM tuition.{fn}(%s, %s::bigint, %s)",
            (self.tenant, payment_id, None),
        )

    def next_call(self, rng: random.Random, worker: int) -> Call | None:
        roll = rng.random()
        if roll < 0.12:
            dup = self.recent.pick(rng)
            if dup is not None:
                return dup
        if roll < 0.17:
            call = self.create_call(self.fresh(f"{self.prefix}s"))
            self.recent.push(call)
            return call
        if roll < 0.60:
            student = self.students.pick(rng)
            if student is None:
                return None
            with self.lock:
                believed = self.cursor.get(student, 1)
            term_no = min(len(TERMS), believed + (1 if rng.random() < 0.2 else 0))
            ref = self.fresh(f"{self.prefix}p")
            call = self.submit_call(student, term_no, rng.choice(AMOUNTS), ref)
            self.recent.push(call)
            return call
        payment = self.payments.pick(rng)
        if payment is None:
            return None
        return self.decide_call("approve" if roll < 0.85 else "reject", payment[0])

    def observe(self, op: Op) -> None:
        if not op.ok:
            return
        kind, a, row = op.call.kind, op.call.args, op.row
        if kind == "create_assessment" and not op.replayed:
            self.students.push(a["student"])
        elif kind == "submit" and not op.replayed:
            self.payments.push((int(row["payment_id"]), a["student"], a["term_no"]))
            terms = [int(x["term_no"]) for x in (row.get("allocations") or [])]
            with self.lock:
                self.cursor[a["student"]] = max(terms, default=a["term_no"])
        elif kind == "reject":
            for pid, student, term_no in self.payments.snapshot():
                if pid == a["payment_id"]:
                    with self.lock:
                        self.cursor[student] = min(self.cursor.get(student, 1), term_no)

    # -- the oracle ----------------------------------------------------------------------
    def check(self, conn: Conn, ops: list[Op]) -> list[Anomaly]:
        out: list[Anomaly] = []
        t = self.tenant
        own = self.own_rows(conn, "tuition.assessment", "student, assessment_id", "student")
        assessments = {s: int(r["assessment_id"]) for s, r in own.items()}
        student_of = {aid: s for s, aid in assessments.items()}
        payments = fetch_by(
            conn,
            "payment_id",
            "SELECT payment_id, reference, assessment_id, term_no, amount, status,"
            " hold_entry_id FROM tuition.payment WHERE tenant_id = %s"
            " AND assessment_id = ANY(%s)",
            (t, list(student_of)),
        )
        by_ref = {p["reference"]: p for p in payments.values()}
        allocations = fetch(
            conn,
            "SELECT payment_id, term_no, amount FROM tuition.allocation"
            " WHERE tenant_id = %s AND assessment_id = ANY(%s)",
            (t, list(student_of)),
        )
        holds = by_key(load_entries(conn, t, "pgb:tuition:payment:"))

        groups = by_subject(ops)
        for subject, g in groups.items():
            kind = g[0].call.kind
            if kind == "create_assessment":
                present = assessments.get(g[0].call.args["student"])

                def exists(call: Call, present: int | None = present) -> bool:
                    return present is not None

                out += exactly_once("exactly_once_assessment", subject, g, present, exists)
                for op in g:
                    if op.ok and op.row.get("assessment_id") != present:
                        out.append(
                            Anomaly(
                                "exactly_once_assessment",
                                subject,
                                f"acknowledged id {op.row.get('assessment_id')}, "
                                f"the student's assessment is {present}",
                            )
                        )
            elif kind == "submit":
                pay = by_ref.get(subject)

                def same(call: Call, pay: Any = pay) -> bool:
                    a = call.args
                    return pay is not None and (
                        student_of.get(pay["assessment_id"]),
                        pay["term_no"],
                        pay["amount"],
                    ) == (a["student"], a["term_no"], a["amount"])

                out += exactly_once("exactly_once_payment", subject, g, pay, same)

        allocated: dict[int, int] = {}
        for r in allocations:
            allocated[int(r["payment_id"])] = allocated.get(int(r["payment_id"]), 0) + r["amount"]
        for pid, pay in payments.items():
            subject = f"payment {pid} ({pay['reference']})"
            approves = groups.get(f"payment:{pid}", [])
            approved = [op for op in approves if op.call.kind == "approve"]
            rejected = [op for op in approves if op.call.kind == "reject"]
            out += took_effect_once("approve_once", subject, approved, pay["status"] == "paid")
            out += took_effect_once("reject_once", subject, rejected, pay["status"] == "rejected")
            for op in approves:
                if op.sqlstate == "PB004" and pay["status"] != (
                    "rejected" if op.call.kind == "approve" else "paid"
                ):
                    out.append(
                        Anomaly(
                            "approve_once",
                            subject,
                            f"PB004 but the payment is {pay['status']}: {op.describe()}",
                        )
                    )
            if allocated.get(pid, 0) != pay["amount"]:
                out.append(
                    Anomaly(
                        "allocations",
                        subject,
                        f"allocations add to {allocated.get(pid, 0)}, payment is {pay['amount']}",
                    )
                )
            hold = holds.get(f"pgb:tuition:payment:{pid}")
            want = {"awaiting_approval": "pending", "paid": "posted", "rejected": "voided"}
            account = f"pgb:tuition:student:{pay['assessment_id']}"
            if (
                hold is None
                or hold.entry_id != pay["hold_entry_id"]
                or hold.status != want[pay["status"]]
                or hold.leg("I") != {account: pay["amount"]}
                or (pay["status"] == "paid" and hold.amount != pay["amount"])
            ):
                out.append(Anomaly("payment_hold", subject, f"{pay['status']} with hold {hold}"))

        awaiting_per_term: dict[tuple[int, int], int] = {}
        for r in allocations:
            if payments[int(r["payment_id"])]["status"] == "awaiting_approval":
                key = (payments[int(r["payment_id"])]["assessment_id"], int(r["term_no"]))
                awaiting_per_term[key] = awaiting_per_term.get(key, 0) + 1
        for (aid, term_no), n in awaiting_per_term.items():
            if n > 1:
                out.append(
                    Anomaly(
                        "one_pending_per_term",
                        f"{student_of[aid]} term {term_no}",
                        f"{n} payments awaiting approval",
                    )
                )

        for student in assessments:
            for term in fetch(conn, "SELECT * FROM tuition.overview(%s, %s)", (t, student)):
                if term["paid"] + term["pending"] > term["amount"] or term["remaining"] < 0:
                    out.append(
                        Anomaly(
                            "term_never_overpaid",
                            f"{student} term {term['term_no']}",
                            f"amount {term['amount']} paid {term['paid']} "
                            f"pending {term['pending']}",
                        )
                    )

        expected = self.expected(ops, payments, student_of)
        accounts = account_balances(
            conn, t, [f"pgb:tuition:student:{aid}" for aid in assessments.values()]
        )
        out += compare_balances(
            "tuition_balances_match_history",
            expected,
            {
                code: {"balance": c["balance"], "pending_in": c["pending_in"]}
                for code, c in accounts.items()
            },
        )
        return out

    def expected(
        self, ops: list[Op], payments: dict[int, Any], student_of: dict[int, str]
    ) -> dict[str, dict[str, int]]:
        """Each student account by the history: the amounts of acknowledged submissions
        (once per reference) are pending until an approval or rejection is acknowledged;
        approved ones are its balance."""
        out: dict[str, dict[str, int]] = {
            f"pgb:tuition:student:{aid}": {"balance": 0, "pending_in": 0} for aid in student_of
        }
        submitted: dict[int, tuple[str, int]] = {}
        for op in ops:
            if op.ok and op.call.kind == "submit":
                pid = int(op.row["payment_id"])
                submitted.setdefault(pid, (op.call.args["student"], op.call.args["amount"]))
        approved = {op.call.args["payment_id"] for op in ops if op.ok and op.call.kind == "approve"}
        rejected = {op.call.args["payment_id"] for op in ops if op.ok and op.call.kind == "reject"}
        aid_of = {s: aid for aid, s in student_of.items()}
        for pid, (student, amount) in submitted.items():
            cols = out.setdefault(
                f"pgb:tuition:student:{aid_of.get(student)}", {"balance": 0, "pending_in": 0}
            )
            if pid in approved:
                cols["balance"] += amount
            elif pid not in rejected:
                cols["pending_in"] += amount
        return out
