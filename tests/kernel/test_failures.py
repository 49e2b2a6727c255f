"""A failed call leaves no trace: no entry, no posting, no status or balance change, and its
key may be used again. One row per (function, error)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.kernel.support import Ledger, raises

K = "the-key"


@pytest.fixture
def book(ledger: Ledger) -> Ledger:
    ledger.open("a")
    ledger.open("b")
    ledger.open("capped", "EUR", 0, 100)
    ledger.open("usd", "USD")
    ledger.open("shut")
    ledger.close("shut")
    ledger.fund("a", 1000)
    ledger.transfer("used", "a", "b", 10)
    ledger.open("spent")
    ledger.transfer("gift", "a", "spent", 10)
    ledger.transfer("spend", "spent", "a", 10)  # reversing the gift would overdraw
    ledger.hold("held", "a", "b", 100)
    voided = ledger.hold("voided", "a", "b", 5)
    ledger.void(voided["entry_id"])
    return ledger


def eid(book: Ledger, key: str) -> int:
    value: int = book.scalar(
        "SELECT entry_id FROM ledger.entry WHERE tenant_id = %s AND idempotency_key = %s",
        (book.tenant, key),
    )
    return value


Call = Callable[[Ledger], Any]
CASES: list[tuple[str, str, Call, Call | None]] = [
    # (id, sqlstate, failing call, a valid call with the same key afterwards)
    ("transfer-amount", "22023", lambda x: x.transfer(K, "a", "b", 0),
     lambda x: x.transfer(K, "a", "b", 1)),
    ("transfer-same-account", "22023", lambda x: x.transfer(K, "a", "a", 1),
     lambda x: x.transfer(K, "a", "b", 1)),
    ("transfer-funds", "PB001", lambda x: x.transfer(K, "a", "b", 10_000),
     lambda x: x.transfer(K, "a", "b", 1)),
    ("transfer-ceiling", "PB002", lambda x: x.transfer(K, "a", "capped", 101),
     lambda x: x.transfer(K, "a", "capped", 100)),
    ("transfer-key", "PB003", lambda x: x.transfer("used", "a", "b", 11), None),
    ("transfer-unknown", "PB005", lambda x: x.transfer(K, "a", "ghost", 1),
     lambda x: x.transfer(K, "a", "b", 1)),
    ("transfer-currency", "PB006", lambda x: x.transfer(K, "a", "usd", 1),
     lambda x: x.transfer(K, "a", "b", 1)),
    ("transfer-closed", "PB007", lambda x: x.transfer(K, "a", "shut", 1),
     lambda x: x.transfer(K, "a", "b", 1)),
    ("post-unbalanced", "22023", lambda x: x.post(K, [("a", -2), ("b", 1)]),
     lambda x: x.post(K, [("a", -1), ("b", 1)])),
    ("post-funds", "PB001", lambda x: x.post(K, [("a", -5000), ("b", 5000)]),
     lambda x: x.post(K, [("a", -1), ("b", 1)])),
    ("post-unknown", "PB005", lambda x: x.post(K, [("a", -2), ("b", 1), ("ghost", 1)]),
     lambda x: x.post(K, [("a", -1), ("b", 1)])),
    ("hold-funds", "PB001", lambda x: x.hold(K, "a", "b", 901),
     lambda x: x.hold(K, "a", "b", 1)),
    ("hold-ceiling", "PB002", lambda x: x.hold(K, "a", "capped", 101),
     lambda x: x.hold(K, "a", "capped", 1)),
    ("capture-above", "PB002", lambda x: x.capture(eid(x, "held"), 101), None),
    ("capture-voided", "PB004", lambda x: x.capture(eid(x, "voided")), None),
    ("capture-unknown", "PB005", lambda x: x.capture(10**12), None),
    ("void-posted", "PB004", lambda x: x.void(eid(x, "used")), None),
    ("reverse-amount", "22023", lambda x: x.reverse(K, eid(x, "used"), -1),
     lambda x: x.reverse(K, eid(x, "used"))),
    ("reverse-above", "PB002", lambda x: x.reverse(K, eid(x, "used"), 11),
     lambda x: x.reverse(K, eid(x, "used"), 10)),
    ("reverse-key", "PB003", lambda x: x.reverse("used", eid(x, "used")), None),
    ("reverse-pending", "PB004", lambda x: x.reverse(K, eid(x, "held")),
     lambda x: x.reverse(K, eid(x, "used"))),
    ("reverse-unknown", "PB005", lambda x: x.reverse(K, 10**12),
     lambda x: x.reverse(K, eid(x, "used"))),
    ("reverse-funds", "PB001", lambda x: x.reverse(K, eid(x, "gift")),
     lambda x: x.reverse(K, eid(x, "used"))),
    ("close-balance", "PB004", lambda x: x.close("a"), None),
    ("open-definition", "PB003", lambda x: x.open("a", "EUR", -5), None),
    ("open-currency", "22023", lambda x: x.open("new", "eur"), None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("code", "call", "retry"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_failed_call_leaves_nothing(
    book: Ledger, code: str, call: Call, retry: Call | None
) -> None:
    before = book.state()
    with raises(code):
        call(book)
    assert book.state() == before
    assert not book.key_exists(K)
    if retry is not None:
        assert retry(book)["replayed"] is False
