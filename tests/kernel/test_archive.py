"""Archiving sealed history (ledger.archive, docs/operations.md "A posting table of a
terabyte"): a tenant's sealed postings move to ledger.posting_archive and every answer of the
history readers stays the same; engine calls on archived entries still work; tampering with
the archive is caught like tampering with ledger.posting; the move is the only way in or out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.helpers.sqlstate import raises
from tests.kernel.support import Ledger, new_key
from tests.kernel.test_seal import bypass, checks, seal, verify_full, verify_seal
from tests.kernel.test_verify import fill

Row = dict[str, Any]
CODES = ("a", "b", "capped", "credit", "rev")


def archive(book: Ledger, seal_no: int) -> Row:
    return book.one("SELECT * FROM ledger.archive(%s, %s)", (book.tenant, seal_no))


def answers(book: Ledger, times: list[datetime]) -> dict[str, Any]:
    """What the history readers say about the tenant."""
    pages: dict[str, list[Row]] = {}
    for code in CODES:
        rows: list[Row] = []
        cursor = None
        while True:
            page = book.rows("SELECT * FROM ledger.statement_page(%s, %s, %s, 2)",
                             (book.tenant, code, cursor))  # fmt: skip
            rows += [{k: v for k, v in r.items() if k != "cursor"} for r in page]
            if len(page) < 2:
                break
            cursor = page[-1]["cursor"]
        pages[code] = rows
    entries = [r["entry_id"] for r in book.rows(
        "SELECT entry_id FROM ledger.entry WHERE tenant_id = %s ORDER BY 1", (book.tenant,))]
    return {
        "pages": pages,
        "statements": {c: book.statement(c) for c in CODES},
        "balance_at": [[book.balance_at(c, t) for c in CODES] for t in times],
        "entries": [book.entry(e) for e in entries],
        "verify": book.verify(),
        "verify_full": verify_full(book),
        "state": book.state()[0::2],
    }  # fmt: skip


@pytest.fixture
def archived(own: Ledger) -> tuple[Ledger, str, list[datetime]]:
    """History with a striped account, a hold pending across the seal (its postings stay)
    and one captured after it; sealed twice, nothing archived yet (each test archives).
    Returns the first seal's exported digest and instants spread over the history."""
    fill(own)  # a pending hold 'held', a partial reversal of 'moved'
    own.open("rev", min_balance=None, max_balance=None)
    own.call("set_account_stripes", "rev", 3)
    times = [own.now()]
    for n in range(3):
        own.transfer(new_key(), "b", "rev", 10 + n)
        times.append(own.now())
    own.hold("later", "a", "b", 40)
    first = seal(own)
    times.append(own.now())
    own.capture(own.entry_id("later"), 25)
    own.transfer("after", "credit", "a", 5)
    times.append(own.now())
    seal(own)
    own.transfer(new_key(), "a", "rev", 3)
    times.append(own.now())
    return own, first["digest"], times


def test_archive_keeps_every_answer(archived: tuple[Ledger, str, list[datetime]]) -> None:
    book, exported, times = archived
    before = answers(book, times)
    in_posting = book.scalar("SELECT count(*) FROM ledger.posting WHERE tenant_id = %s",
                             (book.tenant,))  # fmt: skip
    moved = archive(book, 1)
    horizon = moved["horizon"]
    assert moved["postings"] > 0
    assert book.scalar("SELECT count(*) FROM ledger.posting_archive WHERE tenant_id = %s",
                       (book.tenant,)) == moved["postings"]  # fmt: skip
    assert book.scalar("SELECT count(*) FROM ledger.posting WHERE tenant_id = %s",
                       (book.tenant,)) == in_posting - moved["postings"]  # fmt: skip
    # What stays before the horizon: only the postings of the hold still pending.
    assert {r["idempotency_key"] for r in book.rows(
        "SELECT DISTINCT e.idempotency_key FROM ledger.posting AS p JOIN ledger.entry AS e"
        " USING (tenant_id, entry_id) WHERE p.tenant_id = %s AND p.posted_at < %s",
        (book.tenant, horizon))} == {"held"}  # fmt: skip
    assert answers(book, times) == before
    assert verify_seal(book, exported) == []
    assert archive(book, 1)["postings"] == 0  # again: nothing left to move
    # Engine calls on archived entries and on the hold whose postings stayed.
    book.reverse("back-again", book.entry_id("moved"), 50)
    book.capture(book.entry_id("held"), 70)
    assert archive(book, 2)["postings"] > 0
    assert book.verify() == [] and verify_full(book) == []
    assert verify_seal(book, exported) == []
    with raises("PB004"):  # 'moved' is archived: its state is still checked against it
        book.capture(book.entry_id("moved"), 1)


def test_archive_input(archived: tuple[Ledger, str, list[datetime]]) -> None:
    book, _, _ = archived
    with raises("PB005"):
        archive(book, 99)
    with raises("22023"):
        book.one("SELECT * FROM ledger.archive(%s, 1)", ("",))
    assert book.rows("SELECT 1 FROM ledger.posting_archive WHERE tenant_id = %s",
                     (book.tenant,)) == []  # fmt: skip


MOVED = "(SELECT entry_id FROM ledger.entry WHERE tenant_id = %(t)s AND idempotency_key = 'moved')"


@pytest.mark.parametrize("statement", [
    f"UPDATE ledger.posting_archive SET amount = amount + 1 WHERE tenant_id = %(t)s"
    f" AND entry_id = {MOVED} AND kind = 'B' AND amount > 0",
    f"DELETE FROM ledger.posting_archive WHERE tenant_id = %(t)s AND entry_id = {MOVED}"
    " AND posting_no = 2",
], ids=["changed", "deleted"])  # fmt: skip
def test_tampered_archive_is_caught(
    archived: tuple[Ledger, str, list[datetime]], statement: str
) -> None:
    """Past the guards (replication role: no triggers fire), as a superuser could."""
    book, exported, _ = archived
    archive(book, 1)
    with book.conn.transaction(force_rollback=True):
        bypass(book, "replica")
        book.conn.execute(statement, {"t": book.tenant})
        assert "seal_digest_mismatch" in checks(verify_full(book))
        assert "seal_digest_not_reproduced" in checks(verify_seal(book, exported))
    assert verify_full(book) == []


@pytest.mark.parametrize("statement", [
    "UPDATE ledger.posting_archive SET amount = amount + 1 WHERE tenant_id = %(t)s",
    "DELETE FROM ledger.posting_archive WHERE tenant_id = %(t)s",
    "TRUNCATE ledger.posting_archive",
    "INSERT INTO ledger.posting_archive SELECT * FROM ledger.posting WHERE tenant_id = %(t)s",
    # The marker alone does not open ledger.posting: only rows identical in the archive go.
    "SELECT set_config('pgbalance.archiving', 'on', true);"
    " DELETE FROM ledger.posting WHERE tenant_id = %(t)s",
    "SELECT set_config('pgbalance.archiving', 'on', true);"
    " INSERT INTO ledger.posting_archive (tenant_id, entry_id, posting_no, account_id, kind,"
    " amount, posted_at) SELECT tenant_id, entry_id, posting_no, account_id, kind, amount + 1,"
    " posted_at FROM ledger.posting WHERE tenant_id = %(t)s",
])  # fmt: skip
def test_guards_keep_the_move_the_only_way(
    archived: tuple[Ledger, str, list[datetime]], statement: str
) -> None:
    book, _, _ = archived
    archive(book, 1)
    with book.conn.transaction(force_rollback=True), raises("PB009"):
        for part in statement.split(";"):
            book.conn.execute(part, {"t": book.tenant})


def test_the_documented_steps(archived: tuple[Ledger, str, list[datetime]]) -> None:
    """operations.md, "Archiving sealed history": the archive moved to a tablespace by a
    superuser (here the default one), a seal archived, VACUUM; the tenant checks clean."""
    book, exported, _ = archived
    for statement in ("ALTER TABLE ledger.posting_archive SET TABLESPACE pg_default",
                      "ALTER INDEX ledger.posting_archive_pkey SET TABLESPACE pg_default",
                      "ALTER INDEX ledger.posting_archive_account_time_idx"
                      " SET TABLESPACE pg_default"):  # fmt: skip
        book.conn.execute(statement)
    assert archive(book, 2)["postings"] > 0
    book.conn.execute("VACUUM ledger.posting")
    assert book.verify() == [] and verify_full(book) == []
    assert verify_seal(book, exported) == []
