"""The tuition workload against the double-submit pattern: the client checks that the term
has nothing awaiting approval and is not paid, then inserts the payment; approval adds the
payment to the term's paid column with a value the client computed."""

from __future__ import annotations

from pgbalance.harness.stress.model import Anomaly, Call, Conn, Op, Rejected, Row
from pgbalance.harness.stress.naive.store import NaiveScenario, think
from pgbalance.harness.stress.workload.base import by_subject, exactly_once, holds, took_effect_once
from pgbalance.harness.stress.workload.tuition import (
    CREATE_REJECTS,
    DECIDE_REJECTS,
    SUBMIT_REJECTS,
    TERMS,
    Tuition,
)


class NaiveTuition(NaiveScenario, Tuition):
    def _out(self, p: Row, replayed: bool = False) -> list[Row]:
        keys = ("payment_id", "reference", "term_no", "amount", "status")
        allocations = [{"term_no": p["term_no"], "amount": p["amount"]}]
        return [{**{k: p[k] for k in keys}, "allocations": allocations, "replayed": replayed}]

    def create_call(self, student: str) -> Call:
        st = self.store

        def body(conn: Conn) -> list[Row]:
            found = st.one(conn, "student", student=student)
            if found is not None:
                return [found]
            think()
            row = st.rows(conn, "create_student", student=student)
            for no, term in enumerate(TERMS, start=1):
                st.rows(conn, "create_term", student=student, term_no=no, amount=term["amount"])
            return row

        return st.call(
            "create_assessment",
            f"student:{student}",
            {"student": student},
            CREATE_REJECTS,
            body,
            reports_replay=False,
        )

    def submit_call(self, student: str, term_no: int, amount: int, ref: str) -> Call:
        st = self.store

        def body(conn: Conn) -> list[Row]:
            pay = {"student": student, "term_no": term_no, "amount": amount}
            seen = st.seen(conn, "payment", {"reference": ref}, **pay)
            if seen is not None:
                return self._out(seen, True)
            terms = st.rows(conn, "term_state", student=student)
            if not terms:
                raise Rejected("PB005")
            open_terms = [t for t in terms if t["amount"] - t["paid"] - t["pending"] > 0]
            if not open_terms or open_terms[0]["term_no"] != term_no:
                raise Rejected("PB004")
            term = open_terms[0]
            if term["pending"] > 0:
                raise Rejected("PB008")
            if amount > term["amount"] - term["paid"]:
                raise Rejected("PB002")
            think()
            row = st.rows(
                conn, "submit", reference=ref, student=student, term_no=term_no, amount=amount
            )
            return self._out(row[0])

        args = {"ref": ref, "student": student, "term_no": term_no, "amount": amount}
        return st.call("submit", ref, args, SUBMIT_REJECTS, body)

    def decide_call(self, kind: str, payment_id: int) -> Call:
        st = self.store

        def body(conn: Conn) -> list[Row]:
            p = st.one(conn, "payment_by_id", payment_id=payment_id)
            if p is None:
                raise Rejected("PB005")
            done, other = ("paid", "rejected") if kind == "approve" else ("rejected", "paid")
            if p["status"] == done:
                return self._out(p, True)
            if p["status"] == other:
                raise Rejected("PB004")
            if kind == "approve":
                term = {"student": p["student"], "term_no": p["term_no"]}
                t = st.one(conn, "term_paid", **term)
                assert t is not None
                think()
                st.rows(conn, "set_term_paid", **term, paid=t["paid"] + p["amount"])
            else:
                think()
            st.rows(conn, "set_status", status=done, payment_id=payment_id)
            return self._out({**p, "status": done})

        return st.call(
            kind, f"payment:{payment_id}", {"payment_id": payment_id}, DECIDE_REJECTS, body
        )

    def check(self, conn: Conn, ops: list[Op]) -> list[Anomaly]:
        out: list[Anomaly] = []
        st = self.store
        payments = {int(p["payment_id"]): p for p in st.rows(conn, "payments")}
        for t in st.rows(conn, "terms"):
            subject = f"{t['student']} term {t['term_no']}"
            paid = sum(
                p["amount"]
                for p in payments.values()
                if p["status"] == "paid"
                and (p["student"], p["term_no"]) == (t["student"], t["term_no"])
            )
            awaiting = sum(
                1
                for p in payments.values()
                if p["status"] == "awaiting_approval"
                and (p["student"], p["term_no"]) == (t["student"], t["term_no"])
            )
            if t["paid"] > t["amount"] or paid > t["amount"]:
                out.append(
                    Anomaly(
                        "term_never_overpaid",
                        subject,
                        f"amount {t['amount']}, paid {t['paid']} (approved payments {paid})",
                    )
                )
            if t["paid"] != paid:
                out.append(
                    Anomaly(
                        "term_paid_matches_payments",
                        subject,
                        f"term says {t['paid']}, approved payments {paid}",
                    )
                )
            if awaiting > 1:
                out.append(
                    Anomaly(
                        "one_pending_per_term", subject, f"{awaiting} payments awaiting approval"
                    )
                )
        groups = by_subject(ops)
        by_ref = {p["reference"]: p for p in payments.values()}
        for subject, group in groups.items():
            kind = group[0].call.kind
            if kind == "submit":
                pay = by_ref.get(subject)
                same = holds(pay, student="student", term_no="term_no", amount="amount")
                out += exactly_once("exactly_once_payment", subject, group, pay, same)
            elif kind in ("approve", "reject"):
                pay = payments.get(int(group[0].call.args["payment_id"]))
                status = pay["status"] if pay else None
                out += took_effect_once(
                    "approve_once",
                    subject,
                    [o for o in group if o.call.kind == "approve"],
                    status == "paid",
                )
                out += took_effect_once(
                    "reject_once",
                    subject,
                    [o for o in group if o.call.kind == "reject"],
                    status == "rejected",
                )
        return out
