"""The booking incident: duplicate balance-payment webhooks applied more than once.

Unprotected: the webhook handler checks the booking (deposit paid, amount due, payment_ref
not seen) and then applies the payment; webhooks arriving together all pass the check.
pgbalance: the same webhooks call booking.complete_balance_payment, which locks the booking
row first and decides under the lock: applied once, retries replayed, other payments kept
as unapplied (nothing lost).

The load: half the webhooks are the provider retrying the real payment (one payment_ref),
the other half are distinct payments of the same amount (a customer paying twice).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pgbalance.harness import naive
from pgbalance.harness.incidents.base import Conn, Replay, scalar

TOTAL = 1000_00
DEPOSIT = 200_00
OUTSTANDING = TOTAL - DEPOSIT
BOOKING = "incident-booking"

# The unprotected pattern: pgbalance/harness/naive/booking.sql.
NAIVE_SQL = naive.blocks("booking")


def payment_ref(i: int) -> str:
    """Even webhooks retry the real payment; odd ones are distinct duplicate payments."""
    return "pay-1" if i % 2 == 0 else f"pay-dup-{i}"


def params(ref: str) -> dict[str, Any]:
    """The naive blocks' parameters for a webhook paying the balance with `ref`."""
    return {"booking": BOOKING, "total": TOTAL, "deposit": DEPOSIT, "amount": OUTSTANDING,
            "payment_ref": ref, "kind": "balance", "applied": True}  # fmt: skip


class BookingDuplicateWebhooks(Replay):
    name = "booking: duplicate webhooks"
    workflow = "booking"
    WRITES = ("apply", "record")  # the naive handler applies what it decided before

    def params(self, workers: int, i: int) -> Mapping[str, Any]:
        return params(payment_ref(i))

    def naive_outcome(self, conn: Conn, workers: int) -> tuple[int, int]:
        paid = int(scalar(conn, NAIVE_SQL["paid"], params(payment_ref(0))))
        return paid // OUTSTANDING, paid - OUTSTANDING

    def prepare(self, conn: Conn, tenant: str, workers: int) -> None:
        conn.execute("SELECT * FROM booking.create(%s, %s, %s, %s, 'EUR')",
                     (tenant, BOOKING, TOTAL, DEPOSIT))  # fmt: skip
        conn.execute("SELECT * FROM booking.record_deposit(%s, %s, %s, 'deposit-1')",
                     (tenant, BOOKING, DEPOSIT))  # fmt: skip

    def call(self, conn: Conn, tenant: str, i: int) -> bool:
        row = conn.execute(
            "SELECT replayed, already_paid FROM booking.complete_balance_payment(%s, %s, %s, %s)",
            (tenant, BOOKING, OUTSTANDING, payment_ref(i)),
        ).fetchone()
        assert row is not None
        return not row[0] and not row[1]

    def outcome(self, conn: Conn, tenant: str, workers: int, took: list[bool]) -> tuple[int, int]:
        held = int(scalar(conn, "SELECT balance FROM ledger.get_account(%s, %s)",
                          (tenant, f"pgb:booking:{BOOKING}")))  # fmt: skip
        kept = {r[0] for r in conn.execute(
            "SELECT payment_ref FROM booking.unapplied_payments(%s, %s)", (tenant, BOOKING))}
        # Every distinct payment is either the applied one or kept for a refund.
        sent = {payment_ref(i) for i in range(workers)}
        applied = {payment_ref(i) for i, t in enumerate(took) if t}
        lost = len(sent - kept - applied) * OUTSTANDING
        return sum(took), abs(held - TOTAL) + lost
