"""PB009: ledger history is append-only and balances change only through the posting
trigger, even for the table owner (the tests run as a superuser)."""

from __future__ import annotations

import pytest

from tests.kernel.support import Ledger, detail, new_key, raises


@pytest.fixture
def book(ledger: Ledger) -> Ledger:
    ledger.open("a")
    ledger.open("b")
    ledger.fund("a", 100)
    ledger.transfer(new_key(), "a", "b", 40)
    ledger.hold(new_key(), "a", "b", 10)
    return ledger


FORBIDDEN = [
    "UPDATE ledger.posting SET amount = amount + 1 WHERE tenant_id = %(t)s",
    "UPDATE ledger.posting SET posted_at = posted_at WHERE tenant_id = %(t)s",
    "UPDATE ledger.posting SET amount = 1 WHERE false",  # statement-level: fires on no rows
    "DELETE FROM ledger.posting WHERE tenant_id = %(t)s",
    "DELETE FROM ledger.posting WHERE false",
    "TRUNCATE ledger.posting",
    "TRUNCATE ledger.posting, ledger.entry CASCADE",
    "TRUNCATE ledger.entry CASCADE",
    "DELETE FROM ledger.entry WHERE tenant_id = %(t)s",
    "DELETE FROM ledger.entry WHERE false",
    "UPDATE ledger.entry SET metadata = '{\"x\": 1}' WHERE tenant_id = %(t)s",
    "UPDATE ledger.entry SET idempotency_key = idempotency_key || 'x' WHERE tenant_id = %(t)s",
    "UPDATE ledger.entry SET fingerprint = gen_random_uuid() WHERE tenant_id = %(t)s",
    "UPDATE ledger.entry SET expires_at = now() WHERE tenant_id = %(t)s",
    "UPDATE ledger.entry SET created_at = now() - interval '1 day' WHERE tenant_id = %(t)s",
    "UPDATE ledger.entry SET tenant_id = tenant_id || 'x' WHERE tenant_id = %(t)s",
    "UPDATE ledger.account SET balance = balance + 1 WHERE tenant_id = %(t)s AND code = 'b'",
    "UPDATE ledger.account SET balance = 0 WHERE tenant_id = %(t)s",
    "UPDATE ledger.account SET pending_out = 0 WHERE tenant_id = %(t)s AND code = 'a'",
    "UPDATE ledger.account SET pending_in = 0 WHERE tenant_id = %(t)s AND code = 'b'",
    "UPDATE ledger.account SET code = code || 'x' WHERE tenant_id = %(t)s",
    "UPDATE ledger.account SET currency = 'USD' WHERE tenant_id = %(t)s",
    "UPDATE ledger.account SET tenant_id = tenant_id || 'x' WHERE tenant_id = %(t)s",
    # An account cannot be born with money no posting accounts for.
    "INSERT INTO ledger.account (tenant_id, code, currency, balance) VALUES (%(t)s, 'x', 'EUR', 5)",
    "INSERT INTO ledger.account (tenant_id, code, currency, pending_in)"
    " VALUES (%(t)s, 'x', 'EUR', 5)",
]


@pytest.mark.parametrize("statement", FORBIDDEN)
def test_owner_cannot_rewrite_history_or_balances(book: Ledger, statement: str) -> None:
    before = book.state()
    with raises("PB009"):
        book.conn.execute(statement, {"t": book.tenant})
    assert book.state() == before


def test_the_posting_trigger_marker_cannot_be_forged(book: Ledger) -> None:
    with book.conn.transaction(force_rollback=True):
        book.rows("SELECT set_config('pgbalance.applying', 'on', true)")
        with raises("PB009"):
            book.conn.execute(
                "UPDATE ledger.account SET balance = balance + 1 WHERE tenant_id = %s",
                (book.tenant,),
            )


# The value-list CHECKs, stored as one array constant since 0018_check_constants: each refuses a
# value it does not list (23514, by name) and takes every value it lists.
VALUE_LISTS = [
    ("entry_status_known", ["posted", "pending", "voided", "reversed"], "settled",
     "INSERT INTO ledger.entry (tenant_id, idempotency_key, fingerprint, status, amount)"
     " VALUES (%(t)s, gen_random_uuid()::text, gen_random_uuid(), %(v)s, 1)"),
    ("posting_kind_known", ["B", "O", "I"], "X",
     "INSERT INTO ledger.posting (tenant_id, entry_id, posting_no, account_id, kind, amount,"
     " posted_at) SELECT %(t)s, e.entry_id, 100 + %(n)s, a.account_id, %(v)s, 1, now()"
     " FROM ledger.entry AS e, ledger.account AS a"
     " WHERE e.tenant_id = %(t)s AND a.tenant_id = %(t)s AND a.code = 'b' LIMIT 1"),
    ("posting_archive_kind_known", ["B", "O", "I"], "X",
     "INSERT INTO ledger.posting_archive (tenant_id, entry_id, posting_no, account_id, kind,"
     " amount, posted_at) VALUES (%(t)s, -1, 100 + %(n)s, -1, %(v)s, 1, now())"),
]  # fmt: skip


@pytest.mark.parametrize(("constraint", "listed", "unlisted", "insert"), VALUE_LISTS,
                         ids=[v[0] for v in VALUE_LISTS])  # fmt: skip
def test_value_list_checks_refuse_what_they_do_not_list(
    book: Ledger, constraint: str, listed: list[str], unlisted: str, insert: str
) -> None:
    with book.conn.transaction(force_rollback=True):
        # The archive's insert guard would refuse first; the CHECK is what is tested here.
        book.conn.execute("ALTER TABLE ledger.posting_archive DISABLE TRIGGER"
                          " guard_posting_archive_insert")  # fmt: skip
        for n, value in enumerate(listed):
            with book.conn.transaction():
                book.conn.execute(insert, {"t": book.tenant, "v": value, "n": n})
        with raises("23514") as info, book.conn.transaction():
            book.conn.execute(insert, {"t": book.tenant, "v": unlisted, "n": len(listed)})
        assert info.value.diag.constraint_name == constraint
    assert book.balance("a") == 60


def test_entry_truncate_guard_of_its_own(book: Ledger) -> None:
    """TRUNCATE ledger.entry alone is stopped by the posting FK; with the posting guard
    disabled (in a transaction rolled back), the entry's own truncate guard still refuses."""
    with book.conn.transaction(force_rollback=True):
        book.conn.execute("ALTER TABLE ledger.posting DISABLE TRIGGER guard_posting_truncate")
        with raises("PB009") as info, book.conn.transaction():
            book.conn.execute("TRUNCATE ledger.entry CASCADE")
        assert detail(info)["table"] == "ledger.entry"
    assert book.balance("a") == 60


def test_status_columns_are_not_guarded(book: Ledger) -> None:
    """The kernel changes status, amount and reversed_amount; setting them to themselves is
    allowed (a real change is caught by verify, see test_verify)."""
    with book.conn.transaction(force_rollback=True):
        entries = book.conn.execute(
            "UPDATE ledger.entry SET status = status, amount = amount,"
            " reversed_amount = reversed_amount WHERE tenant_id = %s",
            (book.tenant,),
        )
        assert entries.rowcount == 3  # the funding, the transfer and the hold: none refused
        accounts = book.conn.execute(
            "UPDATE ledger.account SET balance = balance, metadata = '{\"n\": 1}'"
            " WHERE tenant_id = %s",
            (book.tenant,),
        )
        assert accounts.rowcount == 3  # a, b and the funding account
        assert book.scalar(METADATA, (book.tenant,)) == {"n": 1}
        assert book.balance("a") == 60
    assert book.scalar(METADATA, (book.tenant,)) != {"n": 1}  # rolled back


METADATA = "SELECT metadata FROM ledger.account WHERE tenant_id = %s AND code = 'a'"
