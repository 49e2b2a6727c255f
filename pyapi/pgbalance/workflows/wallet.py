"""``client.wallet``: the ``wallet`` schema (top-ups, purchases, refunds of failed purchases)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from pgbalance.connection import Executor


@dataclass(frozen=True)
class WalletRow:
    user_id: str
    currency: str
    balance: int
    available: int


@dataclass(frozen=True)
class WalletTx:
    reference: str
    user_id: str
    kind: str  # 'topup' | 'purchase'
    amount: int
    status: str  # 'completed' | 'failed'
    replayed: bool


class WalletWorkflow:
    """Each method calls one ``wallet.*`` function; errors arrive as pgbalance.errors classes."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    def open(self, tenant: str, user: str, currency: str) -> WalletRow:
        return self.executor.one(
            "SELECT * FROM wallet.open(%s, %s, %s)", (tenant, user, currency), WalletRow
        )

    def balance(self, tenant: str, user: str) -> WalletRow:
        return self.executor.one(
            "SELECT * FROM wallet.balance(%s, %s)", (tenant, user), WalletRow
        )

    def topup(self, tenant: str, user: str, amount: int, reference: str) -> WalletTx:
        return self.executor.one(
            "SELECT * FROM wallet.topup(%s, %s, %s::bigint, %s)",
            (tenant, user, amount, reference),
            WalletTx,
        )

    def purchase(
        self,
        tenant: str,
        user: str,
        amount: int,
        reference: str,
        items: list[Any] | None = None,
    ) -> WalletTx:
        return self.executor.one(
            "SELECT * FROM wallet.purchase(%s, %s, %s::bigint, %s, %s)",
            (tenant, user, amount, reference, Jsonb(items if items is not None else [])),
            WalletTx,
        )

    def fail_purchase(self, tenant: str, reference: str, reason: str | None = None) -> WalletTx:
        return self.executor.one(
            "SELECT * FROM wallet.fail_purchase(%s, %s, %s)", (tenant, reference, reason), WalletTx
        )

    def history(self, tenant: str, user: str) -> list[WalletTx]:
        return self.executor.rows(
            "SELECT * FROM wallet.history(%s, %s)", (tenant, user), WalletTx
        )
