"""pgbalance's errors, raised from the SQLSTATE the database returns.

psycopg maps unknown SQLSTATEs (our PB00x codes) to a generic DatabaseError, so every
client call routes failures through :func:`translate`, which looks at ``e.sqlstate``.
"""

from __future__ import annotations

import psycopg


class PgBalanceError(Exception):
    """A pgbalance rule refused the call; nothing was written."""

    sqlstate: str = ""

    def __init__(self, message: str, *, detail: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.hint = hint

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


class InsufficientPrivilege(PgBalanceError):
    sqlstate = "42501"


class InvalidTransactionState(PgBalanceError):
    sqlstate = "25000"


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
        InsufficientPrivilege,
        InvalidTransactionState,
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
