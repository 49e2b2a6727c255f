"""The tuition workload against the double-submit pattern: the client checks that the term
has nothing awaiting approval and is not paid, then inserts the payment; approval adds the
payment to the term's paid column with a value the client computed."""

from __future__ import annotations

from typing import Any

from pgbalance.stress.model import Anomaly, Call, Conn, Op, Rejected, Row
from pgbalance.stress.naive.store import NaiveScenario, think
from pgbalance.stress.workload.base import by_subject, exactly_once, took_effect_once
from pgbalance.stress.workload.tuition import (
    CREATE_REJECTS,
    DECIDE_REJECTS,
    SUBMIT_REJECTS,
    TERMS,
    Tuition,
)

DDL = """
    CREATE TABLE {s}.naive_student (assessment_id bigserial, student text NOT NULL);
    CREATE TABLE {s}.naive_term (
        student text NOT NULL, term_no int NOT NULL, amount bigint NOT NULL,
        paid bigint NOT NULL DEFAULT 0);
    CREATE TABLE {s}.naive_tpayment (
        payment_id bigserial PRIMARY KEY, reference text NOT NULL, student text NOT NULL,
        term_no int NOT NULL, amount bigint NOT NULL,
        status text NOT NULL DEFAULT 'awaiting_approval')"""


class NaiveTuition(NaiveScenario, Tuition):
    def setup(self, conn: Conn) -> None:
        self.store.create(conn, DDL)
        super().setup(conn)

    def _out(self, p: Row, replayed: bool = False) -> list[Row]:
        keys = ("payment_id", "reference", "term_no", "amount", "status")
        allocations = [{"term_no": p["term_no"], "amount": p["amount"]}]
        return [{**{k: p[k] for k in keys}, "allocations": allocations, "replayed": replayed}]

    def create_call(self, student: str) -> Call:
        st = self.store

        def body(conn: Conn) -> list[Row]:
            q = "SELECT assessment_id FROM {s}.naive_student WHERE student = %s LIMIT 1"
            found = st.one(conn, q, (student,))
            if found is not None:
                return [found]
            think()
            row = st.write(
                conn,
                "INSERT INTO {s}.naive_student (student) VALUES (%s) RETURNING assessment_id",
                (student,),
            )
            for no, term in enumerate(TERMS, start=1):
                st.write(
                    conn,
                    "INSERT INTO {s}.naive_term (student, term_no, amount) VALUES (%s, %s, %s)",
                    (student, no, term["amount"]),
                )
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
            q = "SELECT * FROM {s}.naive_tpayment WHERE reference = %s LIMIT 1"
            seen = st.one(conn, q, (ref,))
            if seen is not None:
                if (seen["student"], seen["term_no"], seen["amount"]) != (student, term_no, amount):
                    raise Rejected("PB003")
                return self._out(seen, True)
            terms = st.rows(
                conn,
                "SELECT t.term_no, t.amount, t.paid, coalesce((SELECT sum(p.amount)"
                " FROM {s}.naive_tpayment AS p WHERE p.student = t.student AND"
                " p.term_no = t.term_no AND p.status = 'awaiting_approval'), 0) AS pending"
                " FROM {s}.naive_term AS t WHERE t.student = %s ORDER BY 1",
                (student,),
            )
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
            row = st.write(
                conn,
                "INSERT INTO {s}.naive_tpayment (reference, student, term_no, amount)"
                " VALUES (%s, %s, %s, %s) RETURNING *",
                (ref, student, term_no, amount),
            )
            return self._out(row[0])

        args = {"ref": ref, "student": student, "term_no": term_no, "amount": amount}
        return st.call("submit", ref, args, SUBMIT_REJECTS, body)

    def decide_call(self, kind: str, payment_id: int) -> Call:
        st = self.store

        def body(conn: Conn) -> list[Row]:
            p = st.one(
                conn, "SELECT * FROM {s}.naive_tpayment WHERE payment_id = %s", (payment_id,)
            )
            if p is None:
                raise Rejected("PB005")
            done, other = ("paid", "rejected") if kind == "approve" else ("rejected", "paid")
            if p["status"] == done:
                return self._out(p, True)
            if p["status"] == other:
                raise Rejected("PB004")
            if kind == "approve":
                t = st.one(
                    conn,
                    "SELECT paid FROM {s}.naive_term WHERE student = %s AND term_no = %s",
                    (p["student"], p["term_no"]),
                )
                assert t is not None
                think()
                st.write(
                    conn,
                    "UPDATE {s}.naive_term SET paid = %s WHERE student = %s AND term_no = %s",
                    (t["paid"] + p["amount"], p["student"], p["term_no"]),
                )
            else:
                think()
            st.write(
                conn,
                "UPDATE {s}.naive_tpayment SET status = %s WHERE payment_id = %s",
                (done, payment_id),
            )
            return self._out({**p, "status": done})

        return st.call(
            kind, f"payment:{payment_id}", {"payment_id": payment_id}, DECIDE_REJECTS, body
        )

    def check(self, conn: Conn, ops: list[Op]) -> list[Anomaly]:
        out: list[Anomaly] = []
        st = self.store
        payments = {
            int(p["payment_id"]): p for p in st.rows(conn, "SELECT * FROM {s}.naive_tpayment")
        }
        for t in st.rows(conn, "SELECT * FROM {s}.naive_term ORDER BY student, term_no"):
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

                def same(call: Call, pay: Any = pay) -> bool:
                    a = call.args
                    return pay is not None and (pay["student"], pay["term_no"], pay["amount"]) == (
                        a["student"],
                        a["term_no"],
                        a["amount"],
                    )

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
