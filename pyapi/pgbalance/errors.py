"""pgbalance's errors: the one registry of the SQLSTATEs the SQL functions raise.

Each class declares its code and name (`class InsufficientFunds(PgBalanceError,
code="PB001", name="insufficient_funds")`, as psycopg declares its errors) and says in its
docstring when it is raised; BY_SQLSTATE is built from the declarations. The client raises
them, docs/api.md's error table is generated from them, and the tests and the demo read the
codes here.

psycopg maps unknown SQLSTATEs (our PB00x codes) to a generic DatabaseError, so every
client call routes failures through :func:`translate`, which looks at ``e.sqlstate``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

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


# The contract promises these never reach a caller: the functions retry them inside.
NEVER_SURFACES = {"40P01": "deadlock_detected", "40001": "serialization_failure"}

BY_SQLSTATE: dict[str, type[PgBalanceError]] = {}
"""Every pgbalance error class by its SQLSTATE, in declaration order (the docs' order)."""


class PgBalanceError(Exception):
    """A pgbalance rule refused the call; nothing was written."""

    sqlstate: ClassVar[str] = ""
    name: ClassVar[str] = ""  # the contract's name for the code, e.g. insufficient_funds
    meaning: ClassVar[str] = ""  # when it is raised: the class docstring, on one line

    def __init_subclass__(cls, *, code: str, name: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if code in BY_SQLSTATE or not cls.__doc__:
            raise TypeError(f"{cls.__name__}: SQLSTATE {code} taken, or no docstring")
        cls.sqlstate, cls.name, cls.meaning = code, name, " ".join(cls.__doc__.split())
        BY_SQLSTATE[code] = cls

    def __init__(self, message: str, *, detail: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.hint = hint
        self.details = parse_detail(detail)

    def __str__(self) -> str:
        return f"{self.message} ({self.detail})" if self.detail else self.message


class InsufficientFunds(PgBalanceError, code="PB001", name="insufficient_funds"):
    """an account would fall below its `min_balance` (pending debits count)"""


class LimitExceeded(PgBalanceError, code="PB002", name="limit_exceeded"):
    """an account would rise above its `max_balance` (pending credits count), or an amount
    exceeds what may still be paid, captured or reversed"""


class IdempotencyConflict(PgBalanceError, code="PB003", name="idempotency_conflict"):
    """a key or reference is reused with different parameters"""


class InvalidState(PgBalanceError, code="PB004", name="invalid_state"):
    """the transition is not allowed (void a captured hold, approve a rejected payment, pay
    terms out of order, ...)"""


class NotFound(PgBalanceError, code="PB005", name="not_found"):
    """unknown account, entry, wallet, purchase reference, booking, load, assessment, payment
    or term (in this tenant)"""


class CurrencyMismatch(PgBalanceError, code="PB006", name="currency_mismatch"):
    """legs or accounts of different currencies in one movement"""


class AccountClosed(PgBalanceError, code="PB007", name="account_closed"):
    """a movement touches a closed account"""


class DuplicatePending(PgBalanceError, code="PB008", name="duplicate_pending"):
    """a tuition term already has a payment awaiting approval"""


class LedgerImmutable(PgBalanceError, code="PB009", name="ledger_immutable"):
    """an UPDATE/DELETE/TRUNCATE of ledger history, or a balance or pending column changed
    other than by the ledger's own trigger"""


class InvalidInput(PgBalanceError, code="22023", name="invalid_parameter_value"):
    """malformed input: amount <= 0, NULL where a value is needed, empty code, unbalanced or
    malformed legs, unknown currency format"""


class InvalidTransactionState(PgBalanceError, code="25000", name="invalid_transaction_state"):
    """a function that writes called inside a REPEATABLE READ or SERIALIZABLE transaction"""


class InsufficientPrivilege(PgBalanceError, code="42501", name="insufficient_privilege"):
    """`pgbalance_app` touching a table directly, or a tenant-bound role calling with a tenant
    it does not hold"""


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
