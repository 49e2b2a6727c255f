"""ledger.statement_page: keyset pages with signed cursors, the same rows and balance_after as
ledger.statement, 22023 for a bad limit or a cursor that is not this account's; and the
client's iterator over pages."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from pgbalance import Client
from pgbalance.aio import AsyncClient
from tests.kernel.support import Ledger, new_key, raises

Row = dict[str, Any]
STATEMENT_COLUMNS = ("entry_id", "posted_at", "amount", "balance_after", "metadata")


def page(book: Ledger, code: str, after: str | None = None, limit: Any = 100) -> list[Row]:
    return book.rows(
        "SELECT * FROM ledger.statement_page(%s, %s, %s, %s)", (book.tenant, code, after, limit)
    )


def all_pages(book: Ledger, code: str, limit: int) -> list[Row]:
    rows: list[Row] = []
    after = None
    while True:
        chunk = page(book, code, after, limit)
        assert len(chunk) <= limit
        rows += chunk
        if len(chunk) < limit:
            return rows
        after = chunk[-1]["cursor"]


def without_cursor(rows: list[Row]) -> list[tuple[Any, ...]]:
    return [tuple(r[c] for c in STATEMENT_COLUMNS) for r in rows]


@pytest.fixture
def book(ledger: Ledger) -> Ledger:
    """An account with every kind of movement: transfers both ways, a captured and a voided
    hold, a reversal, a multi-leg entry, with metadata."""
    ledger.open("a", min_balance=None)
    ledger.open("b")
    ledger.open("c")
    for i in range(7):
        ledger.transfer(new_key(), "a", "b", 10 + i, {"i": i})
    ledger.transfer(new_key(), "b", "a", 5)
    hold = ledger.hold(new_key(), "b", "a", 20)
    ledger.capture(hold["entry_id"], 15)
    voided = ledger.hold(new_key(), "b", "a", 3)
    ledger.void(voided["entry_id"])
    moved = ledger.transfer(new_key(), "b", "c", 30)
    ledger.reverse(new_key(), moved["entry_id"], 10)
    ledger.post(new_key(), [("a", -9), ("b", 4), ("c", 5)])
    return ledger


@pytest.mark.parametrize("limit", [1, 2, 3, 100, 1000])
def test_pages_are_the_statement(book: Ledger, limit: int) -> None:
    for code in ("a", "b", "c"):
        statement = book.statement(code)
        assert len(statement) >= 3
        assert without_cursor(all_pages(book, code, limit)) == [
            tuple(r[c] for c in STATEMENT_COLUMNS) for r in statement
        ]


def test_a_page_continues_after_its_cursor(book: Ledger) -> None:
    first = page(book, "b", None, 4)
    second = page(book, "b", first[-1]["cursor"], 4)
    statement = book.statement("b")
    assert without_cursor(first + second) == without_cursor(statement[:8])  # type: ignore[arg-type]
    # Any row's cursor resumes right after it; the last row's gives an empty page.
    assert without_cursor(page(book, "b", first[1]["cursor"], 2)) == without_cursor(
        statement[2:4]  # type: ignore[arg-type]
    )
    everything = page(book, "b", None, 1000)
    assert page(book, "b", everything[-1]["cursor"], 10) == []
    # A movement after the last page shows up from the last cursor on.
    book.transfer(new_key(), "a", "b", 1)
    (new,) = page(book, "b", everything[-1]["cursor"], 10)
    assert new["balance_after"] == book.balance("b")


def test_empty_account(book: Ledger) -> None:
    book.open("empty")
    assert page(book, "empty") == []


@pytest.mark.parametrize("limit", [0, -1, 1001, None])
def test_limit_out_of_range(book: Ledger, limit: Any) -> None:
    with raises("22023"):
        page(book, "a", None, limit)


def test_cursor_of_another_account_or_tenant_or_forged(book: Ledger, kernel_conn: Any) -> None:
    cursor = page(book, "a", None, 1)[0]["cursor"]
    with raises("22023"):
        page(book, "b", cursor)
    other = Ledger(kernel_conn, f"{book.tenant}-other")
    other.open("a", min_balance=None)
    other.open("b")
    other.transfer(new_key(), "a", "b", 1)
    with raises("22023"):
        page(other, "a", cursor)
    assert other.verify() == []
    # Every field is signed: a cursor with a higher balance, another row or time is refused.
    parts = cursor.split(".")
    for i in range(5):
        forged = list(parts)
        forged[i] = str(int(forged[i]) + 1)
        with raises("22023"):
            page(book, "a", ".".join(forged))
    for garbage in ("", "x", "1.2.3", cursor + "0", cursor.upper()):
        with raises("22023"):
            page(book, "a", garbage)


def test_check_order(book: Ledger) -> None:
    """22023 (malformed) before PB005 (unknown account); a valid cursor on an unknown account
    is PB005."""
    cursor = page(book, "a", None, 1)[0]["cursor"]
    with raises("22023"):
        page(book, "ghost", "garbage")
    with raises("22023"):
        page(book, "ghost", None, 0)
    with raises("PB005"):
        page(book, "ghost", cursor)
    with raises("PB005"):
        page(book, "ghost")


def test_striped_account(ledger: Ledger) -> None:
    ledger.open("w", min_balance=None)
    ledger.open("rev", min_balance=None, max_balance=None)
    ledger.call("set_account_stripes", "rev", 4)
    for i in range(9):
        ledger.transfer(new_key(), "w", "rev", 1 + i)
    assert without_cursor(all_pages(ledger, "rev", 2)) == without_cursor(ledger.statement("rev"))


@pytest.fixture
def client(kernel_dsn: str) -> Iterator[Client]:
    with Client(kernel_dsn) as c:
        yield c


def test_client_iterates_over_pages(book: Ledger, client: Client) -> None:
    pages = list(client.statement_pages(book.tenant, "b", page_size=3))
    assert [len(p) for p in pages][:-1] == [3] * (len(pages) - 1)
    lines = [line for p in pages for line in p]
    assert [(x.entry_id, x.amount, x.balance_after) for x in lines] == [
        (r["entry_id"], r["amount"], r["balance_after"]) for r in book.statement("b")
    ]
    # Resuming from a kept cursor gives the rest.
    resumed = client.statement_pages(book.tenant, "b", 3, lines[4].cursor)
    rest = [line for p in resumed for line in p]
    assert rest == lines[5:]
    # An exact multiple of the page size ends with an empty call, not an empty page.
    assert all(p for p in client.statement_pages(book.tenant, "b", len(lines)))


def test_async_client_iterates_over_pages(book: Ledger, kernel_dsn: str) -> None:
    async def main() -> list[list[int]]:
        async with AsyncClient(kernel_dsn) as c:
            return [[line.balance_after for line in p]
                    async for p in c.statement_pages(book.tenant, "b", page_size=4)]  # fmt: skip

    pages = asyncio.run(main())
    assert [n for p in pages for n in p] == [r["balance_after"] for r in book.statement("b")]
    assert all(len(p) == 4 for p in pages[:-1])
