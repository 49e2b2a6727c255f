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

# DETAIL is `key=value key=value ...` (e.g. `available=1875 requested=5000 pending=1234`).
# Values may hold user text (codes, references) with spaces and `=`: a field starts only at
# a key pgbalance's DETAILs use (DETAIL_KEYS; tests/kernel/test_client.py checks it against
# sql/), and only at that key's last occurrence, so an account code `z b=7 available=999`
# stays whole before the real `available=`. Limit: user text holding ` <key>=` of a key that
# does not follow it in the same DETAIL still splits there (e.detail keeps the raw text).
DETAIL_KEYS = frozenset({
    "account", "account_id", "accounts", "amount", "approver", "assessment_id", "available",
    "balance", "booking", "bytes", "captured", "carrier", "carrier_fee", "code", "command",
    "created_at", "currency", "deposit", "deposit_paid", "entry_id", "existing", "expires_at",
    "fee_status", "first_payable", "first_posted_at", "held", "idx", "items", "key", "kind",
    "leg", "legs", "length", "limit", "load", "load_currency", "max_balance", "metadata",
    "migration", "min_balance", "name", "object", "object_type", "operation", "outstanding",
    "payment_id", "payment_ref", "pending", "pending_in", "pending_out", "pending_term_no",
    "posted", "posted_legs", "postings", "reason", "reference", "remaining", "requested",
    "requested_amount", "requested_term_no", "reversals", "reversed", "reversed_amount", "role",
    "shipper", "shipper_fee", "snapshot", "status", "still_pending", "stripe_no", "stripe_rows",
    "stripes", "student", "sum", "tenant", "tenants", "term", "term_no", "terms", "total",
    "transaction_isolation", "transfers", "updated", "user", "workflow",
    # seals and statement pages (ledger.seal, verify_seal, statement_page)
    "cursor", "digest", "horizon", "last_recomputed", "prev_digest", "previous_horizon",
    "previous_seal_digest", "previous_seal_no", "recomputed", "seal_no", "seals", "stored",
    # a change-feed cursor made on another server (ledger.changes)
    "node", "cursor_node",
})  # fmt: skip
_KEY = re.compile(r"(?:^|(?<=\s))([a-z_][a-z0-9_]*)=")

Detail = dict[str, int | str | None]


def parse_detail(detail: str | None) -> Detail:
    """DETAIL's fields: integers as int, an empty value (a SQL NULL, e.g. an unbounded
    `max_balance=`) as None, anything else (`(1,2)`, `5->6`, codes) as text."""
    text = detail or ""
    starts: list[re.Match[str]] = []
    for match in reversed(list(_KEY.finditer(text))):
        if match.group(1) in DETAIL_KEYS and all(m.group(1) != match.group(1) for m in starts):
            starts.insert(0, match)
    fields: Detail = {}
    for i, match in enumerate(starts):
        # A value runs to the whitespace before the next field.
        value = text[match.end() : starts[i + 1].start() - 1] if i + 1 < len(starts) else (
            text[match.end() :])  # fmt: skip
        fields[match.group(1)] = int(value) if re.fullmatch(r"-?\d+", value) else (value or None)
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


class CursorFromAnotherServer(PgBalanceError, code="72000", name="snapshot_too_old"):
    """a `ledger.changes` cursor made on another server or before the server restarted: the
    tenant's rows moved to another Citus node, the database was restored elsewhere, or the
    server crashed, restarted or failed over; read again from NULL"""


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
