"""The movement engine's own guarantees (docs/performance.md, migrations/0008): what the
posting foreign keys used to refuse is refused by the posting trigger and the guards, and
the two-leg fingerprint is the text jsonb would have hashed (keys written before replay)."""

from __future__ import annotations

import pytest

from tests.kernel.support import Ledger, new_key, raises


@pytest.fixture
def book(own: Ledger) -> Ledger:
    own.open("a", "EUR")
    own.open("b", "EUR")
    own.fund("a", 100)
    own.transfer(new_key(), "a", "b", 40)
    return own


def test_a_posting_of_an_unknown_account_is_refused(book: Ledger) -> None:
    entry = book.transfer(new_key(), "a", "b", 1)["entry_id"]
    with raises("PB009"), book.conn.transaction():
        book.conn.execute(
            "INSERT INTO ledger.posting (tenant_id, entry_id, posting_no, account_id, kind,"
            " amount, posted_at) VALUES (%s, %s, 9, -1, 'B', 5, now())",
            (book.tenant, entry),
        )
    assert book.balance("b") == 41


@pytest.mark.parametrize("statement", [
    "DELETE FROM ledger.account WHERE tenant_id = %(t)s",
    "DELETE FROM ledger.account WHERE false",
    "TRUNCATE ledger.account CASCADE",
])  # fmt: skip
def test_accounts_are_never_deleted(book: Ledger, statement: str) -> None:
    before = book.state()
    with raises("PB009"), book.conn.transaction():
        book.conn.execute(statement, {"t": book.tenant})
    assert book.state() == before


def test_the_discard_marker_never_deletes_an_entry_with_postings(book: Ledger) -> None:
    before = book.state()
    with raises("PB009"), book.conn.transaction():
        book.conn.execute("SELECT set_config('pgbalance.discarding', 'on', true)")
        book.conn.execute("DELETE FROM ledger.entry WHERE tenant_id = %s", (book.tenant,))
    assert book.state() == before


@pytest.mark.parametrize("codes", [
    ("acct1", "acct2"), ("b", "a"), ('q"uote\\back', "tab\there"), ("ünï€😀", "a b'c"),
])  # fmt: skip
@pytest.mark.parametrize("pending", [False, True])
def test_the_two_leg_fingerprint_is_the_jsonb_text(
    own: Ledger, codes: tuple[str, str], pending: bool
) -> None:
    row = own.conn.execute(
        "SELECT ledger._fingerprint_pair(%(a)s, -%(x)s, %(b)s, %(x)s, %(p)s, %(e)s)"
        " = md5(jsonb_build_array((SELECT jsonb_agg(jsonb_build_array(u.c, u.a)"
        " ORDER BY u.c) FROM unnest(ARRAY[%(a)s, %(b)s], ARRAY[-%(x)s, %(x)s]::bigint[])"
        " AS u(c, a)), %(p)s, extract(epoch FROM %(e)s::timestamptz))::text)::uuid"
        " AND ledger._fingerprint_pair(%(a)s, -%(x)s, %(b)s, %(x)s, %(p)s, %(e)s)"
        " = ledger._fingerprint(ARRAY[%(a)s, %(b)s], ARRAY[-%(x)s, %(x)s]::bigint[], %(p)s,"
        " %(e)s) AS same",
        {"a": codes[0], "b": codes[1], "x": 9223372036854775807, "p": pending,
         "e": "2026-01-01 12:00:00.123456+00" if pending else None},
    ).fetchone()  # fmt: skip
    assert row is not None and list(row.values() if isinstance(row, dict) else row) == [True]
