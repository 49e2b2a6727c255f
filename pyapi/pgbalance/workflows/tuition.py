"""``client.tuition``: the ``tuition`` schema (installment terms, payments awaiting approval)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from pgbalance.connection import Executor


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


class TuitionWorkflow:
    """Each method calls one ``tuition.*`` function; errors arrive as pgbalance.errors classes."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    def create_assessment(
        self, tenant: str, student: str, currency: str, terms: list[dict[str, Any]]
    ) -> int:
        return self.executor.scalar(
            "SELECT tuition.create_assessment(%s, %s, %s, %s)",
            (tenant, student, currency, Jsonb(terms)),
            int,
        )

    def submit_payment(
        self, tenant: str, student: str, term_no: int, amount: int, reference: str
    ) -> Payment:
        return self.executor.one(
            "SELECT * FROM tuition.submit_payment(%s, %s, %s::int, %s::bigint, %s)",
            (tenant, student, term_no, amount, reference),
            Payment,
        )

    def approve_payment(self, tenant: str, payment_id: int, approver: str | None = None) -> Payment:
        return self.executor.one(
            "SELECT * FROM tuition.approve_payment(%s, %s::bigint, %s)",
            (tenant, payment_id, approver),
            Payment,
        )

    def reject_payment(self, tenant: str, payment_id: int, reason: str | None = None) -> Payment:
        return self.executor.one(
            "SELECT * FROM tuition.reject_payment(%s, %s::bigint, %s)",
            (tenant, payment_id, reason),
            Payment,
        )

    def awaiting_approval(self, tenant: str) -> list[QueuedPayment]:
        return self.executor.rows(
            "SELECT * FROM tuition.awaiting_approval(%s)", (tenant,), QueuedPayment
        )

    def overview(self, tenant: str, student: str) -> list[TermOverview]:
        return self.executor.rows(
            "SELECT * FROM tuition.overview(%s, %s)", (tenant, student), TermOverview
        )
