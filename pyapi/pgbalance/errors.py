"""pgbalance's errors, raised from the SQLSTATE the database returns.

psycopg maps unknown SQLSTATEs (our PB00x codes) to a generic DatabaseError, so every
client call routes failures through :func:`translate`, which looks at ``e.sqlstate``.
"""

from __future__ import annotations

import re

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
