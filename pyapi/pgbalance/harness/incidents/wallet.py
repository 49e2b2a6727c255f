"""The wallet incident: the app AND a trigger both deducted the same purchase.

Unprotected: a scratch schema where a trigger deducts every inserted purchase while the
application, having checked the balance and the reference itself, deducts it once more; a
client retrying the purchase repeats everything. Every retry lands at the same moment.
pgbalance: the same retries call wallet.purchase with one reference; only the kernel's
posting trigger changes a balance, the reference is claimed before any money moves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pgbalance.harness import naive
from pgbalance.harness.incidents.base import Conn, Replay, scalar

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


class WalletDoubleDeduction(Replay):
    name = "wallet: app and trigger both deduct"
    workflow = "wallet"
    DDL = NAIVE_DDL
    WRITES = ("record", "deduct")  # the naive trigger deducts, and the naive app deducts too

    def params(self, workers: int, i: int) -> Mapping[str, Any]:
        return PARAMS  # every worker is a retry of the same purchase

    def naive_outcome(self, conn: Conn, workers: int) -> tuple[int, int]:
        deducted = BALANCE - int(scalar(conn, NAIVE_SQL["balance"], PARAMS))
        return deducted // AMOUNT, deducted - AMOUNT

    def prepare(self, conn: Conn, tenant: str, workers: int) -> None:
        conn.execute("SELECT * FROM wallet.open(%s, %s, 'EUR')", (tenant, USER))
        conn.execute("SELECT * FROM wallet.topup(%s, %s, %s, 'topup-1')", (tenant, USER, BALANCE))

    def call(self, conn: Conn, tenant: str, i: int) -> bool:
        replayed = scalar(conn, "SELECT replayed FROM wallet.purchase(%s, %s, %s, %s)",
                          (tenant, USER, AMOUNT, REFERENCE))  # fmt: skip
        return not replayed

    def outcome(self, conn: Conn, tenant: str, workers: int, took: list[bool]) -> tuple[int, int]:
        final = int(scalar(conn, "SELECT balance FROM wallet.balance(%s, %s)", (tenant, USER)))
        return sum(took), abs(BALANCE - final - AMOUNT)
