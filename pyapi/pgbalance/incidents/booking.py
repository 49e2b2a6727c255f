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

from pgbalance.incidents.base import IncidentResult
from pgbalance.incidents.race import raise_unexpected, release_together, scalar, scratch_schema

TOTAL = 1000_00
DEPOSIT = 200_00
OUTSTANDING = TOTAL - DEPOSIT
BOOKING = "incident-booking"

# The unprotected pattern, block by block: tests/workflows/naive/ holds the same SQL (the
# same words; a test compares them).
NAIVE_SQL: dict[str, str] = {
    "schema": "CREATE TABLE naive_booking (booking_id text PRIMARY KEY, total bigint NOT NULL,"
    " deposit_paid bigint NOT NULL, balance_paid bigint NOT NULL DEFAULT 0,"
    " status text NOT NULL);\n"
    "CREATE TABLE naive_payment (payment_ref text NOT NULL, booking_id text NOT NULL,"
    " amount bigint NOT NULL);",
    "seed": "INSERT INTO naive_booking (booking_id, total, deposit_paid, status)"
    " VALUES (%(booking)s, %(total)s, %(deposit)s, 'DEPOSIT_PAID');",
    "check": "SELECT b.status = 'DEPOSIT_PAID' AND b.total - b.deposit_paid - b.balance_paid"
    " = %(amount)s AND NOT EXISTS (SELECT FROM naive_payment AS p"
    " WHERE p.payment_ref = %(payment_ref)s) FROM naive_booking AS b"
    " WHERE b.booking_id = %(booking)s;",
    "apply": "UPDATE naive_booking SET status = 'PAID', balance_paid = balance_paid"
    " + %(amount)s WHERE booking_id = %(booking)s;",
    "record": "INSERT INTO naive_payment (payment_ref, booking_id, amount)"
    " VALUES (%(payment_ref)s, %(booking)s, %(amount)s);",
    "paid": "SELECT balance_paid FROM naive_booking WHERE booking_id = %(booking)s;",
}


def payment_ref(i: int) -> str:
    """Even webhooks retry the real payment; odd ones are distinct duplicate payments."""
    return "pay-1" if i % 2 == 0 else f"pay-dup-{i}"


def _params(i: int) -> dict[str, Any]:
    return {"booking": BOOKING, "total": TOTAL, "deposit": DEPOSIT, "amount": OUTSTANDING,
            "payment_ref": payment_ref(i)}  # fmt: skip


class BookingDuplicateWebhooks:
    name = "booking: duplicate webhooks"

    def run_unprotected(self, dsn: str, workers: int) -> IncidentResult:
        with scratch_schema(dsn, "booking") as options:
            with psycopg.connect(dsn, autocommit=True, options=options) as conn:
                conn.execute(NAIVE_SQL["schema"])
                conn.execute(NAIVE_SQL["seed"], _params(0))

            def webhook(conn: psycopg.Connection[Any], i: int, barrier: threading.Barrier) -> bool:
                ok = bool(scalar(conn, NAIVE_SQL["check"], _params(i)))
                barrier.wait()  # the handler's own work between its check and its writes
                if ok:
                    conn.execute(NAIVE_SQL["apply"], _params(i))  # naive: decided before
                    conn.execute(NAIVE_SQL["record"], _params(i))  # naive payment record
                return ok

            outcomes = release_together(dsn, workers, webhook, options=options)
            with psycopg.connect(dsn, autocommit=True, options=options) as conn:
                paid = int(scalar(conn, NAIVE_SQL["paid"], _params(0)))
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
