"""The fees incident: a fee's journal entry and its three wallet updates drifted apart.

Unprotected: the app checks both balances, then writes a journal row and three wallet
updates (shipper -, carrier -, platform +), each in its own transaction. Loads deducted
together all pass the check; the carrier's wallet then cannot pay some of them, those
stop midway after their journal row and shipper debit committed, and journal, wallets and
platform revenue disagree. pgbalance: fees.deduct_service_fee posts one kernel entry with the
load update, or nothing (PB001); the kernel's floor on the wallet account decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg

from pgbalance.harness import naive
from pgbalance.harness.incidents.base import Conn, Replay, scalar

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


class FeesSplitWrites(Replay):
    name = "fees: journal entry and three wallet updates outside one transaction"
    workflow = "fees"
    # Each its own autocommit statement: a debit the wallet's floor refuses stops the rest.
    WRITES = ("journal", "debit_shipper", "debit_carrier", "credit_platform")

    def expected_effects(self, workers: int) -> int:
        return affordable(workers)

    def params(self, workers: int, i: int) -> Mapping[str, Any]:
        return params(workers, i)

    def naive_outcome(self, conn: Conn, workers: int) -> tuple[int, int]:
        row = conn.execute(NAIVE_SQL["drift"], params(workers)).fetchone()
        assert row is not None
        journaled, revenue, debited = (int(v) for v in row)
        return journaled // (SHIPPER_FEE + CARRIER_FEE), _drift(journaled, revenue, debited)

    def prepare(self, conn: Conn, tenant: str, workers: int) -> None:
        p = params(workers)
        for user, amount in ((SHIPPER, p["shipper_balance"]), (CARRIER, p["carrier_balance"])):
            conn.execute("SELECT * FROM wallet.open(%s, %s, %s)", (tenant, user, CURRENCY))
            conn.execute("SELECT * FROM wallet.topup(%s, %s, %s, %s)",
                         (tenant, user, amount, f"topup-{user}"))  # fmt: skip
        for i in range(workers):
            conn.execute("SELECT * FROM fees.create_load(%s, %s, %s, %s, %s)",
                         (tenant, f"load-{i}", SHIPPER, CARRIER, CURRENCY))  # fmt: skip
            conn.execute("SELECT * FROM fees.complete_load(%s, %s)", (tenant, f"load-{i}"))

    def call(self, conn: Conn, tenant: str, i: int) -> bool:
        try:
            conn.execute("SELECT * FROM fees.deduct_service_fee(%s, %s, %s, %s)",
                         (tenant, f"load-{i}", SHIPPER_FEE, CARRIER_FEE))  # fmt: skip
        except psycopg.Error as error:
            if error.sqlstate == "PB001":  # a wallet cannot pay: nothing happened
                return False
            raise
        return True

    def outcome(self, conn: Conn, tenant: str, workers: int, took: list[bool]) -> tuple[int, int]:
        journaled = int(scalar(
            conn, "SELECT coalesce(sum(l.shipper_fee + l.carrier_fee), 0)"
            " FROM generate_series(0, %s - 1) AS i,"
            " fees.get_load(%s, 'load-' || i) AS l", (workers, tenant)))  # fmt: skip
        revenue = int(scalar(conn, "SELECT fees.platform_revenue(%s, %s)", (tenant, CURRENCY)))
        left = int(scalar(
            conn, "SELECT sum(w.balance) FROM unnest(%s::text[]) AS u,"
            " wallet.balance(%s, u) AS w", ([SHIPPER, CARRIER], tenant)))  # fmt: skip
        p = params(workers)
        debited = p["shipper_balance"] + p["carrier_balance"] - left
        return sum(took), _drift(journaled, revenue, debited)
