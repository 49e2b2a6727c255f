"""The Python face of the SQL contract: each method calls exactly one SQL function.

The calls are declared once, in :class:`Kernel` and the workflow namespaces
(``client.wallet``, ``client.booking``, ...; ``pgbalance.workflows``), and serve both this
synchronous :class:`Client` and :class:`pgbalance.aio.AsyncClient` (docs/client.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Unpack

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from pgbalance.connection import Call, E, Executor, Namespace, Options, api, one, rows, scalar
from pgbalance.models import (
    Account,
    BatchItem,
    Change,
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


class Kernel(Namespace[E]):
    """The kernel's calls (schema ``ledger``) and the four workflow namespaces, for a client
    whose executor is E."""

    def __init__(self, executor: E) -> None:
        super().__init__(executor)
        self.wallet = WalletWorkflow(executor)
        self.booking = BookingWorkflow(executor)
        self.fees = FeesWorkflow(executor)
        self.tuition = TuitionWorkflow(executor)

    # -- accounts --------------------------------------------------------------------
    @api
    def open_account(
        self,
        tenant: str,
        code: str,
        currency: str,
        min_balance: int | None = 0,
        max_balance: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Call[Account]:
        """Open an account (again with the same definition: the existing one; else PB003)."""
        return one(
            "SELECT * FROM ledger.open_account(%s, %s, %s, %s::bigint, %s::bigint, %s)",
            (tenant, code, currency, min_balance, max_balance, Jsonb(metadata or {})),
            Account,
        )

    @api
    def get_account(self, tenant: str, code: str) -> Call[Account]:
        """The account with its balance, pending amounts and available funds."""
        return one("SELECT * FROM ledger.get_account(%s, %s)", (tenant, code), Account)

    @api
    def set_account_stripes(self, tenant: str, code: str, stripes: int) -> Call[Account]:
        """Spread a hot account with no limits over `stripes` rows (docs/performance.md)."""
        return one(
            "SELECT * FROM ledger.set_account_stripes(%s, %s, %s::integer)",
            (tenant, code, stripes),
            Account,
        )

    @api
    def close_account(self, tenant: str, code: str) -> Call[Account]:
        """Close an account whose balance and pending amounts are zero (else PB004)."""
        return one("SELECT * FROM ledger.close_account(%s, %s)", (tenant, code), Account)

    # -- movements -------------------------------------------------------------------
    @api
    def transfer(
        self,
        tenant: str,
        key: str,
        from_code: str,
        to_code: str,
        amount: int,
        metadata: dict[str, Any] | None = None,
    ) -> Call[EntryResult]:
        """Move `amount` from one account to another, once per `key`."""
        return one(
            _ENTRY + "ledger.transfer(%s, %s, %s, %s, %s::bigint, %s)",
            (tenant, key, from_code, to_code, amount, Jsonb(metadata or {})),
            EntryResult,
        )

    @api
    def post_entry(
        self,
        tenant: str,
        key: str,
        legs: list[dict[str, Any]],
        metadata: dict[str, Any] | None = None,
        pending: bool = False,
        expires_at: datetime | None = None,
    ) -> Call[EntryResult]:
        """Post balanced legs ``[{"account": code, "amount": n}, ...]`` as one entry."""
        return one(
            _ENTRY + "ledger.post_entry(%s, %s, %s, %s, %s, %s::timestamptz)",
            (tenant, key, Jsonb(legs), Jsonb(metadata or {}), pending, expires_at),
            EntryResult,
        )

    @api
    def hold(
        self,
        tenant: str,
        key: str,
        from_code: str,
        to_code: str,
        amount: int,
        expires_at: datetime | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Call[EntryResult]:
        """Reserve `amount` as a pending entry, captured or voided later."""
        return one(
            _ENTRY + "ledger.hold(%s, %s, %s, %s, %s::bigint, %s::timestamptz, %s)",
            (tenant, key, from_code, to_code, amount, expires_at, Jsonb(metadata or {})),
            EntryResult,
        )

    @api
    def capture(self, tenant: str, entry_id: int, amount: int | None = None) -> Call[EntryResult]:
        """Capture a hold in full or in part (`amount`); the rest is released."""
        return one(
            _ENTRY + "ledger.capture(%s, %s::bigint, %s::bigint)",
            (tenant, entry_id, amount),
            EntryResult,
        )

    @api
    def void(self, tenant: str, entry_id: int) -> Call[EntryResult]:
        """Release a hold without moving money."""
        return one(_ENTRY + "ledger.void(%s, %s::bigint)", (tenant, entry_id), EntryResult)

    @api
    def expire_holds(self, tenant: str | None = None) -> Call[int]:
        """Void the holds past their expiry (of one tenant, or all); returns how many."""
        return scalar("SELECT ledger.expire_holds(%s)", (tenant,), int)

    @api
    def reverse(
        self,
        tenant: str,
        key: str,
        entry_id: int,
        amount: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Call[EntryResult]:
        """Reverse a posted entry in full or in part, once per `key`."""
        return one(
            _ENTRY + "ledger.reverse(%s, %s, %s::bigint, %s::bigint, %s)",
            (tenant, key, entry_id, amount, Jsonb(metadata or {})),
            EntryResult,
        )

    @api
    def transfer_batch(
        self, tenant: str, transfers: list[dict[str, Any]], atomic: bool = False
    ) -> Call[list[BatchItem]]:
        """Many transfers in one call; with `atomic`, all or none (docs/batch.md)."""
        return rows(
            "SELECT * FROM ledger.transfer_batch(%s, %s, %s)",
            (tenant, Jsonb(transfers), atomic),
            BatchItem,
        )

    # -- reading ---------------------------------------------------------------------
    @api
    def get_entry(self, tenant: str, entry_id: int) -> Call[Entry]:
        """An entry with its legs and metadata."""
        return one("SELECT * FROM ledger.get_entry(%s, %s::bigint)", (tenant, entry_id), Entry)

    @api
    def balance_at(self, tenant: str, code: str, at: datetime) -> Call[int]:
        """The account's posted balance at a point in time."""
        return scalar("SELECT ledger.balance_at(%s, %s, %s::timestamptz)", (tenant, code, at), int)

    @api
    def statement(
        self,
        tenant: str,
        code: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Call[list[StatementLine]]:
        """The account's posted movements with the balance after each."""
        return rows(
            "SELECT * FROM ledger.statement(%s, %s, coalesce(%s::timestamptz, '-infinity'),"
            " coalesce(%s::timestamptz, 'infinity'))",
            (tenant, code, since, until),
            StatementLine,
        )

    @api
    def verify(self, tenant: str | None = None) -> Call[list[Violation]]:
        """The ledger's invariant violations (empty when consistent); owner or auditor only."""
        return rows("SELECT * FROM ledger.verify(%s)", (tenant,), Violation)

    # -- change feed -----------------------------------------------------------------
    @api
    def changes_page(
        self, tenant: str, after: str | None = None, limit: int = 100
    ) -> Call[list[Change]]:
        """One page of the change feed after the cursor `after` (None: from the start);
        `changes` iterates the pages (docs/changes.md)."""
        return rows(
            "SELECT * FROM ledger.changes(%s, %s, %s::integer)", (tenant, after, limit), Change
        )

    @api
    def statement_page(
        self, tenant: str, code: str, after: str | None = None, limit: int = 100
    ) -> Call[list[StatementPageLine]]:
        """At most `limit` rows of the account's statement after the row whose cursor is
        `after` (None: from the first); :meth:`Client.statement_pages` iterates over them."""
        return rows(
            "SELECT * FROM ledger.statement_page(%s, %s, %s, %s::int)",
            (tenant, code, after, limit),
            StatementPageLine,
        )


class Client(Kernel[Executor]):
    """The synchronous client over a conninfo string (it then owns a small pool) or a
    ``psycopg_pool.ConnectionPool``; thread-safe."""

    def __init__(self, target: str | ConnectionPool, **options: Unpack[Options]) -> None:
        super().__init__(Executor(target, **options))

    def close(self) -> None:
        self.executor.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def changes(self, tenant: str, after: str | None = None, limit: int = 100) -> Iterator[Change]:
        """The tenant's changes after the cursor `after`, page by page (one `changes_page`
        call each) until a read returns nothing. Store a row's cursor once it is processed and
        resume from it: a lost connection repeats at most the page being read."""
        while page := self.changes_page(tenant, after, limit):
            yield from page

    def statement_pages(
        self, tenant: str, code: str, page_size: int = 100, after: str | None = None
    ) -> Iterator[list[StatementPageLine]]:
        """An account's statement page by page (ledger.statement_page), each page one call
        in its own transaction, continuing from the last row's cursor; stops after a short
        page. `after` resumes from a cursor kept earlier."""
        while True:
            page = self.statement_page(tenant, code, after, page_size)
            if page:
                yield page
            if len(page) < page_size:
                return
            after = page[-1].cursor
