"""``client.fees``: the ``fees`` schema (service fees on completed loads, refunds)."""

from __future__ import annotations

from dataclasses import dataclass

from pgbalance.connection import Executor


@dataclass(frozen=True)
class Load:
    load: str
    status: str  # 'CREATED' | 'COMPLETED'
    fee_status: str  # 'NONE' | 'DEDUCTED' | 'REFUNDED'
    shipper_fee: int | None  # NULL until deducted
    carrier_fee: int | None
    fee_entry_id: int | None
    refund_entry_id: int | None
    replayed: bool


class FeesWorkflow:
    """Each method calls one ``fees.*`` function; errors arrive as pgbalance.errors classes."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    def create_load(
        self, tenant: str, load: str, shipper: str, carrier: str, currency: str
    ) -> Load:
        return self.executor.one(
            "SELECT * FROM fees.create_load(%s, %s, %s, %s, %s)",
            (tenant, load, shipper, carrier, currency),
            Load,
        )

    def complete_load(self, tenant: str, load: str) -> Load:
        return self.executor.one("SELECT * FROM fees.complete_load(%s, %s)", (tenant, load), Load)

    def deduct_service_fee(
        self, tenant: str, load: str, shipper_fee: int, carrier_fee: int
    ) -> Load:
        return self.executor.one(
            "SELECT * FROM fees.deduct_service_fee(%s, %s, %s::bigint, %s::bigint)",
            (tenant, load, shipper_fee, carrier_fee),
            Load,
        )

    def refund_service_fee(self, tenant: str, load: str, reason: str | None = None) -> Load:
        return self.executor.one(
            "SELECT * FROM fees.refund_service_fee(%s, %s, %s)", (tenant, load, reason), Load
        )

    def get_load(self, tenant: str, load: str) -> Load:
        return self.executor.one("SELECT * FROM fees.get_load(%s, %s)", (tenant, load), Load)

    def platform_revenue(self, tenant: str, currency: str) -> int:
        return self.executor.scalar("SELECT fees.platform_revenue(%s, %s)", (tenant, currency), int)
