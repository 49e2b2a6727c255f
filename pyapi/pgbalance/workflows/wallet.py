"""``client.wallet``: the ``wallet`` schema (top-ups, purchases, refunds of failed purchases)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from pgbalance.connection import Call, E, Namespace, api, one, rows


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


class WalletWorkflow(Namespace[E]):
    """Each method calls one ``wallet.*`` function; errors arrive as pgbalance.errors classes."""

    @api
    def open(self, tenant: str, user: str, currency: str) -> Call[WalletRow]:
        return one("SELECT * FROM wallet.open(%s, %s, %s)", (tenant, user, currency), WalletRow)

    @api
    def balance(self, tenant: str, user: str) -> Call[WalletRow]:
        return one("SELECT * FROM wallet.balance(%s, %s)", (tenant, user), WalletRow)

    @api
    def topup(self, tenant: str, user: str, amount: int, reference: str) -> Call[WalletTx]:
        return one(
            "SELECT * FROM wallet.topup(%s, %s, %s::bigint, %s)",
            (tenant, user, amount, reference),
            WalletTx,
        )

    @api
    def purchase(
        self,
        tenant: str,
        user: str,
        amount: int,
        reference: str,
        items: list[Any] | None = None,
    ) -> Call[WalletTx]:
        return one(
            "SELECT * FROM wallet.purchase(%s, %s, %s::bigint, %s, %s)",
            (tenant, user, amount, reference, Jsonb(items if items is not None else [])),
            WalletTx,
        )

    @api
    def fail_purchase(
        self, tenant: str, reference: str, reason: str | None = None
    ) -> Call[WalletTx]:
        return one(
            "SELECT * FROM wallet.fail_purchase(%s, %s, %s)", (tenant, reference, reason), WalletTx
        )

    @api
    def history(self, tenant: str, user: str) -> Call[list[WalletTx]]:
        return rows("SELECT * FROM wallet.history(%s, %s)", (tenant, user), WalletTx)
