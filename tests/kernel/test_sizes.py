"""Sizes: every free-form JSON argument (metadata, purchase items, a batch item's metadata) is
at most 16 KiB as JSON text, reasons and approvers at most 1,000 characters; larger is 22023
and writes nothing. The limit itself is accepted."""

from __future__ import annotations

from typing import Any

import pytest
from psycopg.types.json import Jsonb

from tests.kernel.support import Ledger, new_key, raises

LIMIT = 16384


def sized(ledger: Ledger, size: int) -> dict[str, str]:
    """A JSON object whose text (as PostgreSQL prints jsonb) is exactly `size` bytes."""
    overhead: int = ledger.scalar("SELECT octet_length('{\"x\": \"\"}'::jsonb::text) AS n")
    value = {"x": "a" * (size - overhead)}
    assert ledger.scalar("SELECT octet_length(%s::jsonb::text) AS n", (Jsonb(value),)) == size
    return value


@pytest.fixture
def book(ledger: Ledger) -> Ledger:
    ledger.open("a")
    ledger.fund("a", 1000)
    ledger.open("b")
    return ledger


def kernel_calls(book: Ledger) -> dict[str, Any]:
    return {
        "open_account": lambda m: book.open(new_key(), metadata=m),
        "transfer": lambda m: book.transfer(new_key(), "a", "b", 1, m),
        "post_entry": lambda m: book.post(new_key(), [("a", -1), ("b", 1)], m),
        "hold": lambda m: book.hold(new_key(), "a", "b", 1, None, m),
        "reverse": lambda m: book.reverse(
            new_key(), book.transfer(new_key(), "a", "b", 1)["entry_id"], None, m),
    }


@pytest.mark.parametrize("fn", ["open_account", "transfer", "post_entry", "hold", "reverse"])
def test_metadata_above_16_kib_is_22023_and_writes_nothing(book: Ledger, fn: str) -> None:
    call = kernel_calls(book)[fn]
    call(sized(book, LIMIT))  # the limit itself is fine
    if fn == "reverse":  # the entry to reverse is made first
        original = book.transfer(new_key(), "a", "b", 1)["entry_id"]
        before = book.state()
        with raises("22023") as info:
            book.reverse(new_key(), original, None, sized(book, LIMIT + 1))
    else:
        before = book.state()
        with raises("22023") as info:
            call(sized(book, LIMIT + 1))
    assert info.value.diag.message_detail == f"bytes={LIMIT + 1} limit={LIMIT}"
    assert book.state() == before


def test_five_megabytes_of_metadata_is_refused(book: Ledger) -> None:
    before = book.state()
    with raises("22023"):
        book.transfer(new_key(), "a", "b", 1, {"blob": "x" * 5_000_000})
    assert book.state() == before


def test_a_batch_item_above_16_kib_fails_alone(book: Ledger) -> None:
    def item(key: str, metadata: Any) -> dict[str, Any]:
        return {"key": key, "from": "a", "to": "b", "amount": 1, "metadata": metadata}

    rows = book.rows(
        "SELECT * FROM ledger.transfer_batch(%s, %s, false) ORDER BY idx",
        (book.tenant, Jsonb([item("k1", sized(book, LIMIT)), item("k2", sized(book, LIMIT + 1)),
                             item("k3", {})])),
    )  # fmt: skip
    assert [(r["idx"], r["error_code"]) for r in rows] == [(1, None), (2, "22023"), (3, None)]
    assert not book.key_exists("k2")
    before = book.state()
    with raises("22023") as info:
        book.rows("SELECT * FROM ledger.transfer_batch(%s, %s, true)",
                  (book.tenant, Jsonb([item("k4", {}), item("k5", sized(book, LIMIT + 1))])))
    assert "idx=2" in (info.value.diag.message_detail or "")
    assert book.state() == before


def test_purchase_items_above_16_kib_are_refused(ledger: Ledger) -> None:
    ledger.rows("SELECT * FROM wallet.open(%s, 'u', 'EUR')", (ledger.tenant,))
    ledger.rows("SELECT * FROM wallet.topup(%s, 'u', 100, 'top')", (ledger.tenant,))
    items = [sized(ledger, LIMIT - 2)]  # [ + object + ]
    ledger.rows("SELECT * FROM wallet.purchase(%s, 'u', 1, 'p1', %s)",
                (ledger.tenant, Jsonb(items)))
    before = ledger.state()
    with raises("22023"):
        ledger.rows("SELECT * FROM wallet.purchase(%s, 'u', 1, 'p2', %s)",
                    (ledger.tenant, Jsonb([sized(ledger, LIMIT)])))  # fmt: skip
    assert ledger.state() == before


def test_reasons_and_approvers_are_at_most_1000_characters(ledger: Ledger) -> None:
    t = ledger.tenant
    ledger.rows("SELECT tuition.create_assessment(%s, 's', 'PHP', %s)",
                (t, Jsonb([{"name": "T1", "amount": 100}, {"name": "T2", "amount": 100}])))
    payment = ledger.one("SELECT * FROM tuition.submit_payment(%s, 's', 1, 100, 'r1')",
                         (t,))["payment_id"]  # fmt: skip
    before = ledger.state()
    with raises("22023"):
        ledger.rows("SELECT * FROM tuition.approve_payment(%s, %s, %s)", (t, payment, "x" * 1001))
    with raises("22023"):
        ledger.rows("SELECT * FROM tuition.reject_payment(%s, %s, %s)", (t, payment, "x" * 1001))
    assert ledger.state() == before
    # 1,000 characters are an approver (the 200-character name limit no longer applies).
    row = ledger.one("SELECT * FROM tuition.approve_payment(%s, %s, %s)", (t, payment, "x" * 1000))
    assert row["status"] == "paid"

    ledger.rows("SELECT * FROM wallet.open(%s, 'u', 'EUR')", (t,))
    ledger.rows("SELECT * FROM wallet.topup(%s, 'u', 100, 'top')", (t,))
    ledger.rows("SELECT * FROM wallet.purchase(%s, 'u', 10, 'buy')", (t,))
    with raises("22023"):
        ledger.rows("SELECT * FROM wallet.fail_purchase(%s, 'buy', %s)", (t, "x" * 1001))
    assert ledger.one("SELECT * FROM wallet.fail_purchase(%s, 'buy', %s)",
                      (t, "x" * 1000))["status"] == "failed"  # fmt: skip
