"""``client.booking``: the ``booking`` schema (deposit, then the balance from webhooks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pgbalance.connection import Call, E, Namespace, api, one, rows


@dataclass(frozen=True)
class BookingRow:
    booking: str
    status: str  # 'PENDING' | 'DEPOSIT_PAID' | 'PAID'
    total: int
    deposit_paid: int
    balance_paid_amount: int
    balance_paid_at: datetime | None
    outstanding: int
    replayed: bool
    already_paid: bool


@dataclass(frozen=True)
class UnappliedPayment:
    payment_ref: str
    amount: int
    received_at: datetime
    reason: str


_ROW = "SELECT * FROM booking."


class BookingWorkflow(Namespace[E]):
    """Each method calls one ``booking.*`` function; errors arrive as pgbalance.errors classes."""

    @api
    def create(
        self, tenant: str, booking: str, total: int, deposit: int, currency: str
    ) -> Call[BookingRow]:
        return one(
            _ROW + "create(%s, %s, %s::bigint, %s::bigint, %s)",
            (tenant, booking, total, deposit, currency),
            BookingRow,
        )

    @api
    def record_deposit(
        self, tenant: str, booking: str, amount: int, payment_ref: str
    ) -> Call[BookingRow]:
        return one(
            _ROW + "record_deposit(%s, %s, %s::bigint, %s)",
            (tenant, booking, amount, payment_ref),
            BookingRow,
        )

    @api
    def complete_balance_payment(
        self, tenant: str, booking: str, amount: int, payment_ref: str
    ) -> Call[BookingRow]:
        return one(
            _ROW + "complete_balance_payment(%s, %s, %s::bigint, %s)",
            (tenant, booking, amount, payment_ref),
            BookingRow,
        )

    @api
    def get(self, tenant: str, booking: str) -> Call[BookingRow]:
        return one(_ROW + "get(%s, %s)", (tenant, booking), BookingRow)

    @api
    def unapplied_payments(self, tenant: str, booking: str) -> Call[list[UnappliedPayment]]:
        return rows(_ROW + "unapplied_payments(%s, %s)", (tenant, booking), UnappliedPayment)
