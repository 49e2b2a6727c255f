"""Shared by the fees and tuition tests: one migrated database per test module (tests isolate
themselves by tenant), a thin caller of the workflow SQL bound to one tenant, and the
snapshot that proves a failed call wrote nothing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.helpers.shared_db import shared_database
from tests.helpers.tenant_sql import TenantSql

Row = dict[str, Any]
TERMS = [{"name": "Upon Registration", "amount": 1000}, {"name": "Prelim", "amount": 500},
         {"name": "Final", "amount": 500}]  # fmt: skip


wf_dsn, wf_conn = shared_database("wf", "module")


class Api(TenantSql):
    """The workflow SQL functions for one tenant over one autocommit connection, called the
    way an application sends them (positional parameters, text and NULL as `unknown`)."""

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.rows(sql, params)
        assert len(rows) == 1, rows
        return next(iter(rows[0].values()))

    def account(self, code: str) -> Row:
        return self.call("ledger.get_account", code)

    def legs(self, entry_id: int) -> dict[str, int]:
        entry = self.call("ledger.get_entry", entry_id)
        return {leg["account"]: leg["amount"] for leg in entry["legs"]}

    def entry_count(self) -> int:
        n: int = self.scalar(
            "SELECT count(*) FROM ledger.entry WHERE tenant_id = %s", (self.tenant,)
        )
        return n

    def verify(self) -> list[Row]:
        return self.rows("SELECT * FROM ledger.verify(%s)", (self.tenant,))

    def state(self, *tables: str) -> tuple[str, ...]:
        """Everything a failed call could have touched in this tenant: the ledger's tables and
        the given workflow tables, as text."""
        out = []
        for table in ("ledger.account", "ledger.entry", "ledger.posting", *tables):
            rows = self.rows(
                f"SELECT t::text AS r FROM {table} AS t WHERE tenant_id = %s ORDER BY 1",
                (self.tenant,),
            )
            out.append(f"{table}: " + " | ".join(r["r"] for r in rows))
        return tuple(out)


class Fees(Api):
    """The fees and wallet SQL functions for one tenant."""

    def open_wallet(self, user: str, currency: str = "EUR", topup: int = 0) -> None:
        self.call("wallet.open", user, currency)
        if topup:
            self.call("wallet.topup", user, topup, f"topup-{user}-{topup}")

    def wallet(self, user: str) -> int:
        value: int = self.call("wallet.balance", user)["balance"]
        return value

    def create(
        self, load: Any, shipper: Any = "s", carrier: Any = "c", currency: Any = "EUR"
    ) -> Row:
        return self.call("fees.create_load", load, shipper, carrier, currency)

    def complete(self, load: Any) -> Row:
        return self.call("fees.complete_load", load)

    def deduct(self, load: Any, shipper_fee: Any, carrier_fee: Any) -> Row:
        return self.call("fees.deduct_service_fee", load, shipper_fee, carrier_fee)

    def refund(self, load: Any, reason: Any = None) -> Row:
        return self.call("fees.refund_service_fee", load, reason)

    def get(self, load: Any) -> Row:
        return self.call("fees.get_load", load)

    def revenue(self, currency: Any = "EUR") -> int:
        value: int = self.scalar("SELECT fees.platform_revenue(%s, %s)", (self.tenant, currency))
        return value

    def snapshot(self) -> tuple[str, ...]:
        return self.state("fees.load")


class Tuition(Api):
    """The tuition SQL functions for one tenant."""

    def assess(self, student: Any, terms: Any, currency: Any = "PHP") -> int:
        value: int = self.scalar(
            "SELECT tuition.create_assessment(%s, %s, %s, %s)",
            (self.tenant, student, currency, Jsonb(terms) if terms is not None else None),
        )
        return value

    def submit(self, student: Any, term_no: Any, amount: Any, reference: Any) -> Row:
        return self.call("tuition.submit_payment", student, term_no, amount, reference)

    def approve(self, payment_id: Any, approver: Any = None) -> Row:
        return self.call("tuition.approve_payment", payment_id, approver)

    def reject(self, payment_id: Any, reason: Any = None) -> Row:
        return self.call("tuition.reject_payment", payment_id, reason)

    def queue(self) -> list[Row]:
        return self.call_rows("tuition.awaiting_approval")

    def overview(self, student: Any) -> list[Row]:
        return self.call_rows("tuition.overview", student)

    def student_code(self, student: str) -> str:
        """The ledger account of a student's assessment."""
        assessment_id = self.scalar(
            "SELECT assessment_id FROM tuition.assessment WHERE tenant_id = %s AND student = %s",
            (self.tenant, student),
        )
        return f"pgb:tuition:student:{assessment_id}"

    def hold_of(self, payment_id: int) -> int:
        value: int = self.scalar(
            "SELECT hold_entry_id FROM tuition.payment WHERE tenant_id = %s AND payment_id = %s",
            (self.tenant, payment_id),
        )
        return value

    def snapshot(self) -> tuple[str, ...]:
        return self.state("tuition.assessment", "tuition.term", "tuition.payment",
                          "tuition.allocation")  # fmt: skip


@pytest.fixture
def tu(wf_conn: psycopg.Connection[Any], tenant: str) -> Iterator[Tuition]:
    """alice is assessed TERMS in PHP; verify() must be clean for the tenant at the end."""
    api = Tuition(wf_conn, tenant)
    api.assess("alice", TERMS)
    yield api
    assert api.verify() == []
