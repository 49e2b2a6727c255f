"""The tuition incident: two payments for one installment, submitted before approval, both
applied.

Unprotected: the client checks that the term has no payment awaiting approval, then inserts
the payment; submissions arriving together all pass the check, accounting approves the
queue, and the installment is paid once per submission. pgbalance: tuition.submit_payment
decides under the assessment's lock: the first is held in the ledger, every other gets
PB008 (or PB004 once the term is covered); approving the queue applies one payment.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from pgbalance.harness import naive
from pgbalance.harness.together import release_together
from pgbalance.incidents.base import IncidentResult, raise_unexpected, scalar

TERM_AMOUNT = 6544_71
PAYMENT = 4000_00  # part of the installment: the term stays open, with a payment pending
STUDENT = "incident-student"

# The unprotected pattern: pgbalance/harness/naive/tuition.sql.
NAIVE_SQL = naive.blocks("tuition")


def params(i: int = 0) -> dict[str, Any]:
    return {"student": STUDENT, "term_amount": TERM_AMOUNT, "term_no": 1, "amount": PAYMENT,
            "reference": f"pay-{i}"}  # fmt: skip


class TuitionDoubleSubmit:
    name = "tuition: two payments for one installment both applied"

    def run_unprotected(self, dsn: str, workers: int) -> IncidentResult:
        with naive.scratch_schema(dsn, "tuition") as options:
            with psycopg.connect(dsn, autocommit=True, options=options) as conn:
                naive.install(conn, NAIVE_SQL, seed=params())

            def submit(conn: psycopg.Connection[Any], i: int, barrier: threading.Barrier) -> bool:
                ok = bool(scalar(conn, NAIVE_SQL["check"], params(i)))
                barrier.wait()  # the client's round trip between its check and its insert
                if ok:
                    conn.execute(NAIVE_SQL["submit"], params(i))  # the naive insert
                return ok

            outcomes = release_together(dsn, workers, submit, options=options)
            raise_unexpected(outcomes)
            with psycopg.connect(dsn, autocommit=True, options=options) as conn:
                conn.execute(NAIVE_SQL["approve_all"])  # accounting approves the naive queue
                row = conn.execute(NAIVE_SQL["paid"], params()).fetchone()
        assert row is not None
        payments, amount = int(row[0]), int(row[1])
        return IncidentResult(
            incident=self.name,
            variant="unprotected",
            attempts=workers,
            effects_applied=payments,
            expected_effects=1,
            money_wrongly_moved=amount - PAYMENT,
            verify_clean=True,
        )

    def run_protected(self, dsn: str, workers: int) -> IncidentResult:
        tenant = f"incident-tuition-{secrets.token_hex(4)}"
        terms = [{"name": "Upon Registration", "amount": TERM_AMOUNT},
                 {"name": "Prelim", "amount": TERM_AMOUNT}]  # fmt: skip
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT tuition.create_assessment(%s, %s, 'PHP', %s)",
                         (tenant, STUDENT, Jsonb(terms)))  # fmt: skip

        def submit(conn: psycopg.Connection[Any], i: int, barrier: threading.Barrier) -> bool:
            try:
                conn.execute("SELECT * FROM tuition.submit_payment(%s, %s, 1, %s, %s)",
                             (tenant, STUDENT, PAYMENT, f"pay-{i}"))  # fmt: skip
            except psycopg.Error as error:
                if error.sqlstate in ("PB008", "PB004"):  # refused: nothing recorded
                    return False
                raise
            return True

        outcomes = release_together(dsn, workers, submit)
        raise_unexpected(outcomes)
        with psycopg.connect(dsn, autocommit=True) as conn:
            queue = conn.execute(
                "SELECT payment_id FROM tuition.awaiting_approval(%s)", (tenant,)
            ).fetchall()
            for (payment_id,) in queue:  # accounting approves the queue
                conn.execute("SELECT * FROM tuition.approve_payment(%s, %s)", (tenant, payment_id))
            paid = int(scalar(conn, "SELECT paid FROM tuition.overview(%s, %s) WHERE term_no = 1",
                               (tenant, STUDENT)))  # fmt: skip
            violations = conn.execute("SELECT * FROM ledger.verify(%s)", (tenant,)).fetchall()
        return IncidentResult(
            incident=self.name,
            variant="pgbalance",
            attempts=workers,
            effects_applied=len(queue),
            expected_effects=1,
            money_wrongly_moved=abs(paid - PAYMENT),
            verify_clean=not violations,
        )
