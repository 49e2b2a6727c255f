"""``client.fees``: the ``fees`` schema (service fees on completed loads, refunds)."""

from __future__ import annotations

from dataclasses import dataclass

from pgbalance.connection import Call, E, Namespace, api, one, scalar


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


class FeesWorkflow(Namespace[E]):
    """Each method calls one ``fees.*`` function; errors arrive as pgbalance.errors classes."""

    @api
    def create_load(
        self, tenant: str, load: str, shipper: str, carrier: str, currency: str
    ) -> Call[Load]:
        return one(
            "SELECT * FROM fees.create_load(%s, %s, %s, %s, %s)",
            (tenant, load, shipper, carrier, currency),
            Load,
        )

    @api
    def complete_load(self, tenant: str, load: str) -> Call[Load]:
        return one("SELECT * FROM fees.complete_load(%s, %s)", (tenant, load), Load)

    @api
    def deduct_service_fee(
        self, tenant: str, load: str, shipper_fee: int, carrier_fee: int
    ) -> Call[Load]:
        return one(
            "SELECT * FROM fees.deduct_service_fee(%s, %s, %s::bigint, %s::bigint)",
            (tenant, load, shipper_fee, carrier_fee),
            Load,
        )

    @api
    def refund_service_fee(self, tenant: str, load: str, reason: str | None = None) -> Call[Load]:
        return one(
            "SELECT * FROM fees.refund_service_fee(%s, %s, %s)", (tenant, load, reason), Load
        )

    @api
    def get_load(self, tenant: str, load: str) -> Call[Load]:
        return one("SELECT * FROM fees.get_load(%s, %s)", (tenant, load), Load)

    @api
    def platform_revenue(self, tenant: str, currency: str) -> Call[int]:
        return scalar("SELECT fees.platform_revenue(%s, %s)", (tenant, currency), int)
