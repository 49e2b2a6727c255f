"""The tuition incident: two payments for one installment, submitted before approval, both
applied.

Unprotected: the client checks that the term has no payment awaiting approval, then inserts
the payment; submissions arriving together all pass the check, accounting approves the
queue, and the installment is paid once per submission. pgbalance: tuition.submit_payment
decides under the assessment's lock: the first is held in the ledger, every other gets
PB008 (or PB004 once the term is covered); approving the queue applies one payment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from pgbalance.harness import naive
from pgbalance.harness.incidents.base import Conn, Replay, scalar

TERM_AMOUNT = 6544_71
PAYMENT = 4000_00  # part of the installment: the term stays open, with a payment pending
STUDENT = "incident-student"

# The unprotected pattern: pgbalance/harness/naive/tuition.sql.
NAIVE_SQL = naive.blocks("tuition")


def params(i: int = 0) -> dict[str, Any]:
    return {"student": STUDENT, "term_amount": TERM_AMOUNT, "term_no": 1, "amount": PAYMENT,
            "reference": f"pay-{i}"}  # fmt: skip


class TuitionDoubleSubmit(Replay):
    name = "tuition: two payments for one installment both applied"
    workflow = "tuition"
    WRITES = ("submit",)  # the naive insert, decided before

    def params(self, workers: int, i: int) -> Mapping[str, Any]:
        return params(i)

    def naive_outcome(self, conn: Conn, workers: int) -> tuple[int, int]:
        conn.execute(NAIVE_SQL["approve_all"])  # accounting approves the naive queue
        row = conn.execute(NAIVE_SQL["paid"], params()).fetchone()
        assert row is not None
        return int(row[0]), int(row[1]) - PAYMENT

    def prepare(self, conn: Conn, tenant: str, workers: int) -> None:
        terms = [{"name": "Upon Registration", "amount": TERM_AMOUNT},
                 {"name": "Prelim", "amount": TERM_AMOUNT}]  # fmt: skip
        conn.execute("SELECT tuition.create_assessment(%s, %s, 'PHP', %s)",
                     (tenant, STUDENT, Jsonb(terms)))  # fmt: skip

    def call(self, conn: Conn, tenant: str, i: int) -> bool:
        try:
            conn.execute("SELECT * FROM tuition.submit_payment(%s, %s, 1, %s, %s)",
                         (tenant, STUDENT, PAYMENT, f"pay-{i}"))  # fmt: skip
        except psycopg.Error as error:
            if error.sqlstate in ("PB008", "PB004"):  # refused: nothing recorded
                return False
            raise
        return True

    def outcome(self, conn: Conn, tenant: str, workers: int, took: list[bool]) -> tuple[int, int]:
        queue = conn.execute(
            "SELECT payment_id FROM tuition.awaiting_approval(%s)", (tenant,)
        ).fetchall()
        for (payment_id,) in queue:  # accounting approves the queue
            conn.execute("SELECT * FROM tuition.approve_payment(%s, %s)", (tenant, payment_id))
        paid = int(scalar(conn, "SELECT paid FROM tuition.overview(%s, %s) WHERE term_no = 1",
                          (tenant, STUDENT)))  # fmt: skip
        return len(queue), abs(paid - PAYMENT)
