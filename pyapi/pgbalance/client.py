"""The Python face of the SQL contract: each method calls exactly one SQL function.

Workflow namespaces (``client.wallet``, ``client.booking``, ...) live in
``pgbalance.workflows`` and share this client's :class:`~pgbalance.connection.Executor`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from pgbalance.connection import Executor
from pgbalance.models import (
    Account,
    BatchItem,
    Entry,
    EntryResult,
    StatementLine,
    StatementPageLine,
    Violation,
)
from pgbalance.workflows.booking import BookingWorkflow
from pgbalance.workflows.fees import FeesWorkflow
from pgbalance.workflows.tuition import TuitionWorkflow
from pgbalance.workflows.wallet import WalletWorkflow

_ENTRY = "SELECT entry_id, status, replayed FROM "


class Client:
    """A pgbalance client over a conninfo string (it then owns a small pool) or a pool."""

    def __init__(self, target: str | ConnectionPool, *, attempts: int = 6) -> None:
        self.executor = Executor(target, attempts=attempts)
        self.wallet = WalletWorkflow(self.executor)
        self.booking = BookingWorkflow(self.executor)
        self.fees = FeesWorkflow(self.executor)
        self.tuition = TuitionWorkflow(self.executor)

    def close(self) -> None:
        self.executor.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- accounts --------------------------------------------------------------------
    def open_account(
        self,
        tenant: str,
        code: str,
        currency: str,
        min_balance: int | None = 0,
        max_balance: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Account:
        return self.executor.one(
            "SELECT * FROM ledger.open_account(%s, %s, %s, %s::bigint, %s::bigint, %s)",
            (tenant, code, currency, min_balance, max_balance, Jsonb(metadata or {})),
            Account,
        )

    def get_account(self, tenant: str, code: str) -> Account:
        return self.executor.one(
            "SELECT * FROM ledger.get_account(%s, %s)", (tenant, code), Account
        )

    def close_account(self, tenant: str, code: str) -> Account:
        return self.executor.one(
            "SELECT * FROM ledger.close_account(%s, %s)", (tenant, code), Account
        )

    def set_account_stripes(self, tenant: str, code: str, stripes: int) -> Account:
        """Spread a hot account with no limits over `stripes` rows (docs/performance.md)."""
        return self.executor.one(
            "SELECT * FROM ledger.set_account_stripes(%s, %s, %s::integer)",
            (tenant, code, stripes),
            Account,
        )

    # -- movements -------------------------------------------------------------------
    def transfer(
        self,
        tenant: str,
        key: str,
        from_code: str,
        to_code: str,
        amount: int,
        metadata: dict[str, Any] | None = None,
    ) -> EntryResult:
        return self.executor.one(
            _ENTRY + "ledger.transfer(%s, %s, %s, %s, %s::bigint, %s)",
            (tenant, key, from_code, to_code, amount, Jsonb(metadata or {})),
            EntryResult,
        )

    def post_entry(
        self,
        tenant: str,
        key: str,
        legs: list[dict[str, Any]],
        metadata: dict[str, Any] | None = None,
        pending: bool = False,
        expires_at: datetime | None = None,
    ) -> EntryResult:
        return self.executor.one(
            _ENTRY + "ledger.post_entry(%s, %s, %s, %s, %s, %s::timestamptz)",
            (tenant, key, Jsonb(legs), Jsonb(metadata or {}), pending, expires_at),
            EntryResult,
        )

    def hold(
        self,
        tenant: str,
        key: str,
        from_code: str,
        to_code: str,
        amount: int,
        expires_at: datetime | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> EntryResult:
        return self.executor.one(
            _ENTRY + "ledger.hold(%s, %s, %s, %s, %s::bigint, %s::timestamptz, %s)",
            (tenant, key, from_code, to_code, amount, expires_at, Jsonb(metadata or {})),
            EntryResult,
        )

    def capture(self, tenant: str, entry_id: int, amount: int | None = None) -> EntryResult:
        return self.executor.one(
            _ENTRY + "ledger.capture(%s, %s::bigint, %s::bigint)",
            (tenant, entry_id, amount),
            EntryResult,
        )

    def void(self, tenant: str, entry_id: int) -> EntryResult:
        return self.executor.one(
            _ENTRY + "ledger.void(%s, %s::bigint)", (tenant, entry_id), EntryResult
        )

    def expire_holds(self, tenant: str | None = None) -> int:
        return self.executor.scalar("SELECT ledger.expire_holds(%s)", (tenant,), int)

    def reverse(
        self,
        tenant: str,
        key: str,
        entry_id: int,
        amount: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> EntryResult:
        return self.executor.one(
            _ENTRY + "ledger.reverse(%s, %s, %s::bigint, %s::bigint, %s)",
            (tenant, key, entry_id, amount, Jsonb(metadata or {})),
            EntryResult,
        )

    def transfer_batch(
        self, tenant: str, transfers: list[dict[str, Any]], atomic: bool = False
    ) -> list[BatchItem]:
        return self.executor.rows(
            "SELECT * FROM ledger.transfer_batch(%s, %s, %s)",
            (tenant, Jsonb(transfers), atomic),
            BatchItem,
        )

    # -- reading ---------------------------------------------------------------------
    def get_entry(self, tenant: str, entry_id: int) -> Entry:
        return self.executor.one(
            "SELECT * FROM ledger.get_entry(%s, %s::bigint)", (tenant, entry_id), Entry
        )

    def balance_at(self, tenant: str, code: str, at: datetime) -> int:
        return self.executor.scalar(
            "SELECT ledger.balance_at(%s, %s, %s::timestamptz)", (tenant, code, at), int
        )

    def statement(
        self,
        tenant: str,
        code: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[StatementLine]:
        return self.executor.rows(
            "SELECT * FROM ledger.statement(%s, %s, coalesce(%s::timestamptz, '-infinity'),"
            " coalesce(%s::timestamptz, 'infinity'))",
            (tenant, code, since, until),
            StatementLine,
        )

    def verify(self, tenant: str | None = None) -> list[Violation]:
        return self.executor.rows("SELECT * FROM ledger.verify(%s)", (tenant,), Violation)

    def statement_pages(
        self, tenant: str, code: str, page_size: int = 100, after: str | None = None
    ) -> Iterator[list[StatementPageLine]]:
        """An account's statement page by page (ledger.statement_page), each page one call
        in its own transaction, continuing from the last row's cursor; stops after a short
        page. `after` resumes from a cursor kept earlier."""
        while True:
            page = self.executor.rows(
                "SELECT * FROM ledger.statement_page(%s, %s, %s, %s::int)",
                (tenant, code, after, page_size),
                StatementPageLine,
            )
            if page:
                yield page
            if len(page) < page_size:
                return
            after = page[-1].cursor
