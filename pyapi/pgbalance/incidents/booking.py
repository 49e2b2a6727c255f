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

import secrets
import threading
from typing import Any

import psycopg

from pgbalance.harness import naive
from pgbalance.harness.together import release_together
from pgbalance.incidents.base import IncidentResult, raise_unexpected, scalar

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


class BookingDuplicateWebhooks:
    name = "booking: duplicate webhooks"

    def run_unprotected(self, dsn: str, workers: int) -> IncidentResult:
        with naive.scratch_schema(dsn, "booking") as options:
            with psycopg.connect(dsn, autocommit=True, options=options) as conn:
                naive.install(conn, NAIVE_SQL, seed=params(payment_ref(0)))

            def webhook(conn: psycopg.Connection[Any], i: int, barrier: threading.Barrier) -> bool:
                p = params(payment_ref(i))
                ok = bool(scalar(conn, NAIVE_SQL["check"], p))
                barrier.wait()  # the handler's own work between its check and its writes
                if ok:
                    conn.execute(NAIVE_SQL["apply"], p)  # naive: decided before
                    conn.execute(NAIVE_SQL["record"], p)  # naive payment record
                return ok

            outcomes = release_together(dsn, workers, webhook, options=options)
            with psycopg.connect(dsn, autocommit=True, options=options) as conn:
                paid = int(scalar(conn, NAIVE_SQL["paid"], params(payment_ref(0))))
        raise_unexpected(outcomes)
        return IncidentResult(
            incident=self.name,
            variant="unprotected",
            attempts=workers,
            effects_applied=paid // OUTSTANDING,
            expected_effects=1,
            money_wrongly_moved=paid - OUTSTANDING,
            verify_clean=True,
        )

    def run_protected(self, dsn: str, workers: int) -> IncidentResult:
        tenant = f"incident-booking-{secrets.token_hex(4)}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT * FROM booking.create(%s, %s, %s, %s, 'EUR')",
                         (tenant, BOOKING, TOTAL, DEPOSIT))  # fmt: skip
            conn.execute("SELECT * FROM booking.record_deposit(%s, %s, %s, 'deposit-1')",
                         (tenant, BOOKING, DEPOSIT))  # fmt: skip

        def webhook(conn: psycopg.Connection[Any], i: int, barrier: threading.Barrier) -> bool:
            row = conn.execute(
                "SELECT replayed, already_paid"
                " FROM booking.complete_balance_payment(%s, %s, %s, %s)",
                (tenant, BOOKING, OUTSTANDING, payment_ref(i)),
            ).fetchone()
            assert row is not None
            return not row[0] and not row[1]

        outcomes = release_together(dsn, workers, webhook)
        raise_unexpected(outcomes)
        with psycopg.connect(dsn, autocommit=True) as conn:
            held = int(scalar(conn, "SELECT balance FROM ledger.get_account(%s, %s)",
                               (tenant, f"pgb:booking:{BOOKING}")))  # fmt: skip
            kept = {r[0] for r in conn.execute(
                "SELECT payment_ref FROM booking.unapplied_payments(%s, %s)", (tenant, BOOKING))}
            violations = conn.execute("SELECT * FROM ledger.verify(%s)", (tenant,)).fetchall()
        # Every distinct payment is either the applied one or kept for a refund.
        sent = {payment_ref(i) for i in range(workers)}
        applied = {payment_ref(i) for i, o in enumerate(outcomes) if o is True}
        lost = len(sent - kept - applied) * OUTSTANDING
        return IncidentResult(
            incident=self.name,
            variant="pgbalance",
            attempts=workers,
            effects_applied=sum(1 for o in outcomes if o is True),
            expected_effects=1,
            money_wrongly_moved=abs(held - TOTAL) + lost,
            verify_clean=not violations,
        )
