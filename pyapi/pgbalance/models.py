"""Frozen result rows of the kernel's SQL functions; field names are the result columns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Account:
    tenant: str
    code: str
    currency: str
    balance: int
    pending_out: int
    pending_in: int
    available: int
    min_balance: int | None
    max_balance: int | None
    closed: bool


@dataclass(frozen=True)
class EntryResult:
    entry_id: int
    status: str
    replayed: bool


@dataclass(frozen=True)
class Entry:
    entry_id: int
    idempotency_key: str
    status: str
    legs: list[dict[str, Any]]
    metadata: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class StatementLine:
    entry_id: int
    posted_at: datetime
    amount: int
    balance_after: int
    metadata: dict[str, Any]


@dataclass(frozen=True)
class StatementPageLine:
    entry_id: int
    posted_at: datetime
    amount: int
    balance_after: int
    metadata: dict[str, Any]
    cursor: str


@dataclass(frozen=True)
class BatchItem:
    idx: int
    entry_id: int | None
    status: str | None
    replayed: bool | None
    error_code: str | None


@dataclass(frozen=True)
class Violation:
    check_name: str
    tenant: str
    subject: str
    detail: str


@dataclass(frozen=True)
class Change:
    """A row of ledger.changes: resume after it by passing its cursor as `after`."""

    cursor: str
    entry_id: int
    status: str
    changed_at: datetime
