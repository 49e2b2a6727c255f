"""The wallet incident: the app AND a trigger both deducted the same purchase.

Unprotected: a scratch schema where a trigger deducts every inserted purchase while the
application, having checked the balance and the reference itself, deducts it once more; a
client retrying the purchase repeats everything. Every retry lands at the same moment.
pgbalance: the same retries call wallet.purchase with one reference; only the kernel's
posting trigger changes a balance, the reference is claimed before any money moves.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

import psycopg

from pgbalance.harness import naive
from pgbalance.harness.together import release_together
from pgbalance.incidents.base import IncidentResult, raise_unexpected, scalar

BALANCE = 100_00
AMOUNT = 60_00
USER = "incident-user"
REFERENCE = "order-1"

# The unprotected pattern: pgbalance/harness/naive/wallet.sql, with its trigger (the second
# authority) on top of the tables.
NAIVE_SQL = naive.blocks("wallet")
NAIVE_DDL = ("schema", "trigger")

PARAMS = {"user": USER, "balance": BALANCE, "amount": AMOUNT, "reference": REFERENCE,
          "kind": "purchase"}  # fmt: skip


class WalletDoubleDeduction:
    name = "wallet: app and trigger both deduct"

    def run_unprotected(self, dsn: str, workers: int) -> IncidentResult:
        with naive.scratch_schema(dsn, "wallet") as options:
            with psycopg.connect(dsn, autocommit=True, options=options) as conn:
                naive.install(conn, NAIVE_SQL, NAIVE_DDL, PARAMS)

            def retry(conn: psycopg.Connection[Any], i: int, barrier: threading.Barrier) -> bool:
                ok = bool(scalar(conn, NAIVE_SQL["check"], PARAMS))
                barrier.wait()  # the app's own work between its check and its writes
                if ok:
                    conn.execute(NAIVE_SQL["record"], PARAMS)  # the naive trigger deducts
                    conn.execute(NAIVE_SQL["deduct"], PARAMS)  # and the naive app deducts too
                return ok

            outcomes = release_together(dsn, workers, retry, options=options)
            with psycopg.connect(dsn, autocommit=True, options=options) as conn:
                final = int(scalar(conn, NAIVE_SQL["balance"], PARAMS))
        raise_unexpected(outcomes)
        deducted = BALANCE - final
        return IncidentResult(
            incident=self.name,
            variant="unprotected",
            attempts=workers,
            effects_applied=deducted // AMOUNT,
            expected_effects=1,
            money_wrongly_moved=deducted - AMOUNT,
            verify_clean=True,
        )

    def run_protected(self, dsn: str, workers: int) -> IncidentResult:
        tenant = f"incident-wallet-{secrets.token_hex(4)}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT * FROM wallet.open(%s, %s, 'EUR')", (tenant, USER))
            conn.execute("SELECT * FROM wallet.topup(%s, %s, %s, 'topup-1')",
                         (tenant, USER, BALANCE))  # fmt: skip

        def retry(conn: psycopg.Connection[Any], i: int, barrier: threading.Barrier) -> bool:
            replayed = scalar(
                conn,
                "SELECT replayed FROM wallet.purchase(%s, %s, %s, %s)",
                (tenant, USER, AMOUNT, REFERENCE),
            )
            return not replayed

        outcomes = release_together(dsn, workers, retry)
        raise_unexpected(outcomes)
        with psycopg.connect(dsn, autocommit=True) as conn:
            final = int(scalar(conn, "SELECT balance FROM wallet.balance(%s, %s)", (tenant, USER)))
            violations = conn.execute("SELECT * FROM ledger.verify(%s)", (tenant,)).fetchall()
        deducted = BALANCE - final
        return IncidentResult(
            incident=self.name,
            variant="pgbalance",
            attempts=workers,
            effects_applied=sum(1 for o in outcomes if o is True),
            expected_effects=1,
            money_wrongly_moved=abs(deducted - AMOUNT),
            verify_clean=not violations,
        )
