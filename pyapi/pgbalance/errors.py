"""pgbalance's errors, raised from the SQLSTATE the database returns.

psycopg maps unknown SQLSTATEs (our PB00x codes) to a generic DatabaseError, so every
client call routes failures through :func:`translate`, which looks at ``e.sqlstate``.
"""

from __future__ import annotations

import re

import psycopg

# DETAIL is `key=value key=value ...` (e.g. `available=1875 requested=5000 pending=1234`); a
# value runs to the next ` key=`, so codes with spaces survive.
_FIELD = re.compile(r"(?:^|\s)([a-z_][a-z0-9_]*)=(.*?)(?=\s[a-z_][a-z0-9_]*=|$)", re.DOTALL)

Detail = dict[str, int | str | None]


def parse_detail(detail: str | None) -> Detail:
    """DETAIL's fields: integers as int, an empty value (a SQL NULL, e.g. an unbounded
    `max_balance=`) as None, anything else (`(1,2)`, `5->6`, codes) as text."""
    fields: Detail = {}
    for key, value in _FIELD.findall(detail or ""):
        fields[key] = int(value) if re.fullmatch(r"-?\d+", value) else (value or None)
    return fields


class PgBalanceError(Exception):
    """A pgbalance rule refused the call; nothing was written."""

    sqlstate: str = ""

    def __init__(self, message: str, *, detail: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.hint = hint
        self.details = parse_detail(detail)

    def __str__(self) -> str:
        return f"{self.message} ({self.detail})" if self.detail else self.message


class InsufficientFunds(PgBalanceError):
    sqlstate = "PB001"


class LimitExceeded(PgBalanceError):
    sqlstate = "PB002"


class IdempotencyConflict(PgBalanceError):
    sqlstate = "PB003"


class InvalidState(PgBalanceError):
    sqlstate = "PB004"


class NotFound(PgBalanceError):
    sqlstate = "PB005"


class CurrencyMismatch(PgBalanceError):
    sqlstate = "PB006"


class AccountClosed(PgBalanceError):
    sqlstate = "PB007"


class DuplicatePending(PgBalanceError):
    sqlstate = "PB008"


class LedgerImmutable(PgBalanceError):
    sqlstate = "PB009"


class InvalidInput(PgBalanceError):
    sqlstate = "22023"


class InvalidTransactionState(PgBalanceError):
    """A write was called above READ COMMITTED (call it in its own READ COMMITTED transaction)."""

    sqlstate = "25000"


class InsufficientPrivilege(PgBalanceError):
    sqlstate = "42501"


BY_SQLSTATE: dict[str, type[PgBalanceError]] = {
    cls.sqlstate: cls
    for cls in (
        InsufficientFunds,
        LimitExceeded,
        IdempotencyConflict,
        InvalidState,
        NotFound,
        CurrencyMismatch,
        AccountClosed,
        DuplicatePending,
        LedgerImmutable,
        InvalidInput,
        InvalidTransactionState,
        InsufficientPrivilege,
    )
}


def translate(error: psycopg.Error) -> Exception:
    """The pgbalance exception for a database error, or the error itself if it is not ours."""
    cls = BY_SQLSTATE.get(error.sqlstate or "")
    if cls is None:
        return error
    diag = error.diag
    translated = cls(
        diag.message_primary or str(error), detail=diag.message_detail, hint=diag.message_hint
    )
    translated.__cause__ = error
    return translated
