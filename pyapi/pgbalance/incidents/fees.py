"""The fees incident: a fee's journal entry and its three wallet updates drifted apart.

Unprotected: the app checks both balances, then writes a journal row and three wallet
updates (shipper -, carrier -, platform +), each in its own transaction. Loads deducted
together all pass the check; the carrier's wallet then cannot pay some of them, those
stop midway after their journal row and shipper debit committed, and journal, wallets and
platform revenue disagree. pgbalance: fees.deduct_service_fee posts one kernel entry with the
load update, or nothing (PB001); the kernel's floor on the wallet account decides.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

import psycopg

from pgbalance.harness import naive
from pgbalance.harness.together import release_together
from pgbalance.incidents.base import IncidentResult, raise_unexpected, scalar

SHIPPER_FEE = 20_00
CARRIER_FEE = 30_00
SHIPPER_BALANCE = 10_000_00
SHIPPER = "incident-shipper"
CARRIER = "incident-carrier"
CURRENCY = "EUR"

# The unprotected pattern: pgbalance/harness/naive/fees.sql.
NAIVE_SQL = naive.blocks("fees")


def affordable(workers: int) -> int:
    """How many loads the carrier's wallet can pay the fee of: half of them."""
    return max(1, workers // 2)


def params(workers: int, i: int = 0) -> dict[str, Any]:
    return {"shipper": SHIPPER, "carrier": CARRIER, "currency": CURRENCY,
            "shipper_balance": SHIPPER_BALANCE,
            "carrier_balance": CARRIER_FEE * affordable(workers),
            "shipper_fee": SHIPPER_FEE, "carrier_fee": CARRIER_FEE,
            "load": f"load-{i}"}  # fmt: skip


def _drift(journaled: int, revenue: int, debited: int) -> int:
    """Money the books disagree on: journal vs revenue, and wallet debits vs revenue."""
    return abs(journaled - revenue) + abs(debited - revenue)


class FeesSplitWrites:
    name = "fees: journal entry and three wallet updates outside one transaction"

    def run_unprotected(self, dsn: str, workers: int) -> IncidentResult:
        with naive.scratch_schema(dsn, "fees") as options:
            with psycopg.connect(dsn, autocommit=True, options=options) as conn:
                naive.install(conn, NAIVE_SQL, seed=params(workers))

            def deduct(conn: psycopg.Connection[Any], i: int, barrier: threading.Barrier) -> bool:
                p = params(workers, i)
                ok = bool(scalar(conn, NAIVE_SQL["check"], p))
                barrier.wait()  # the app's own work between its check and its writes
                if not ok:
                    return False
                conn.execute(NAIVE_SQL["journal"], p)  # naive: each write commits on its own
                try:
                    for step in ("debit_shipper", "debit_carrier", "credit_platform"):
                        conn.execute(NAIVE_SQL[step], p)  # naive: no transaction around them
                except psycopg.errors.CheckViolation:
                    pass  # failed midway: what committed before stays
                return True

            outcomes = release_together(dsn, workers, deduct, options=options)
            raise_unexpected(outcomes)
            with psycopg.connect(dsn, autocommit=True, options=options) as conn:
                row = conn.execute(NAIVE_SQL["drift"], params(workers)).fetchone()
        assert row is not None
        journaled, revenue, debited = (int(v) for v in row)
        return IncidentResult(
            incident=self.name,
            variant="unprotected",
            attempts=workers,
            effects_applied=journaled // (SHIPPER_FEE + CARRIER_FEE),
            expected_effects=affordable(workers),
            money_wrongly_moved=_drift(journaled, revenue, debited),
            verify_clean=True,
        )

    def run_protected(self, dsn: str, workers: int) -> IncidentResult:
        tenant = f"incident-fees-{secrets.token_hex(4)}"
        p = params(workers)
        with psycopg.connect(dsn, autocommit=True) as conn:
            for user, amount in ((SHIPPER, p["shipper_balance"]), (CARRIER, p["carrier_balance"])):
                conn.execute("SELECT * FROM wallet.open(%s, %s, 'EUR')", (tenant, user))
                conn.execute("SELECT * FROM wallet.topup(%s, %s, %s, %s)",
                             (tenant, user, amount, f"topup-{user}"))  # fmt: skip
            for i in range(workers):
                conn.execute("SELECT * FROM fees.create_load(%s, %s, %s, %s, 'EUR')",
                             (tenant, f"load-{i}", SHIPPER, CARRIER))  # fmt: skip
                conn.execute("SELECT * FROM fees.complete_load(%s, %s)", (tenant, f"load-{i}"))

        def deduct(conn: psycopg.Connection[Any], i: int, barrier: threading.Barrier) -> bool:
            try:
                conn.execute("SELECT * FROM fees.deduct_service_fee(%s, %s, %s, %s)",
                             (tenant, f"load-{i}", SHIPPER_FEE, CARRIER_FEE))  # fmt: skip
            except psycopg.Error as error:
                if error.sqlstate == "PB001":  # a wallet cannot pay: nothing happened
                    return False
                raise
            return True

        outcomes = release_together(dsn, workers, deduct)
        raise_unexpected(outcomes)
        with psycopg.connect(dsn, autocommit=True) as conn:
            journaled = int(scalar(
                conn, "SELECT coalesce(sum(l.shipper_fee + l.carrier_fee), 0)"
                " FROM generate_series(0, %s - 1) AS i,"
                " fees.get_load(%s, 'load-' || i) AS l", (workers, tenant)))  # fmt: skip
            revenue = int(scalar(conn, "SELECT fees.platform_revenue(%s, 'EUR')", (tenant,)))
            left = int(scalar(
                conn, "SELECT sum(w.balance) FROM unnest(%s::text[]) AS u,"
                " wallet.balance(%s, u) AS w", ([SHIPPER, CARRIER], tenant)))  # fmt: skip
            violations = conn.execute("SELECT * FROM ledger.verify(%s)", (tenant,)).fetchall()
        debited = p["shipper_balance"] + p["carrier_balance"] - left
        return IncidentResult(
            incident=self.name,
            variant="pgbalance",
            attempts=workers,
            effects_applied=sum(1 for o in outcomes if o is True),
            expected_effects=affordable(workers),
            money_wrongly_moved=_drift(journaled, revenue, debited),
            verify_clean=not violations,
        )
