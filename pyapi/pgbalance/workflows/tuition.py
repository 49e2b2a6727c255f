"""``client.tuition``: the ``tuition`` schema (installment terms, payments awaiting approval)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from pgbalance.connection import Call, E, Namespace, api, one, rows, scalar


@dataclass(frozen=True)
class Payment:
    payment_id: int
    reference: str
    term_no: int
    amount: int
    status: str  # 'awaiting_approval' | 'paid' | 'rejected'
    allocations: list[dict[str, Any]]  # [{"term_no": 1, "amount": ...}, ...] in term order
    replayed: bool


@dataclass(frozen=True)
class QueuedPayment:
    """A row of the accounting queue: a payment awaiting approval and its student."""

    payment_id: int
    reference: str
    term_no: int
    amount: int
    status: str
    allocations: list[dict[str, Any]]
    replayed: bool
    student: str


@dataclass(frozen=True)
class TermOverview:
    term_no: int
    name: str
    amount: int
    paid: int
    pending: int
    remaining: int
    effective_remaining: int
    status: str  # 'paid' | 'pending' | 'unpaid'
    selectable: bool
    blocked_reason: str | None


class TuitionWorkflow(Namespace[E]):
    """Each method calls one ``tuition.*`` function; errors arrive as pgbalance.errors classes."""

    @api
    def create_assessment(
        self, tenant: str, student: str, currency: str, terms: list[dict[str, Any]]
    ) -> Call[int]:
        return scalar(
            "SELECT tuition.create_assessment(%s, %s, %s, %s)",
            (tenant, student, currency, Jsonb(terms)),
            int,
        )

    @api
    def submit_payment(
        self, tenant: str, student: str, term_no: int, amount: int, reference: str
    ) -> Call[Payment]:
        return one(
            "SELECT * FROM tuition.submit_payment(%s, %s, %s::int, %s::bigint, %s)",
            (tenant, student, term_no, amount, reference),
            Payment,
        )

    @api
    def approve_payment(
        self, tenant: str, payment_id: int, approver: str | None = None
    ) -> Call[Payment]:
        return one(
            "SELECT * FROM tuition.approve_payment(%s, %s::bigint, %s)",
            (tenant, payment_id, approver),
            Payment,
        )

    @api
    def reject_payment(
        self, tenant: str, payment_id: int, reason: str | None = None
    ) -> Call[Payment]:
        return one(
            "SELECT * FROM tuition.reject_payment(%s, %s::bigint, %s)",
            (tenant, payment_id, reason),
            Payment,
        )

    @api
    def awaiting_approval(self, tenant: str) -> Call[list[QueuedPayment]]:
        return rows("SELECT * FROM tuition.awaiting_approval(%s)", (tenant,), QueuedPayment)

    @api
    def overview(self, tenant: str, student: str) -> Call[list[TermOverview]]:
        return rows("SELECT * FROM tuition.overview(%s, %s)", (tenant, student), TermOverview)
