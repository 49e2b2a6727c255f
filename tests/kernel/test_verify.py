"""ledger.verify sees every kind of damage: each check is shown going red.

A superuser bypasses the guards with session_replication_role = replica (the documented
repair door) inside a transaction that is rolled back, so the damage never outlives the
check; the `ledger` fixture then finds the tenant clean again.
"""

from __future__ import annotations

import pytest

from tests.kernel.support import Ledger, new_key


def fill(ledger: Ledger) -> Ledger:
    """Accounts and movements that every check below can find damage in (also used by
    tests/kernel/test_seal.py after a seal)."""
    ledger.open("a")
    ledger.open("b")
    ledger.open("capped", "EUR", 0, 1000)
    ledger.open("credit", "EUR", -500)
    ledger.fund("a", 1000)
    ledger.transfer(new_key(), "credit", "b", 300)
    ledger.transfer("moved", "a", "b", 300)
    ledger.reverse("back", ledger.entry_id("moved"), 100)
    ledger.transfer(new_key(), "a", "capped", 50)
    ledger.hold("held", "a", "b", 70)
    assert ledger.verify() == []
    return ledger


@pytest.fixture
def book(ledger: Ledger) -> Ledger:
    return fill(ledger)


T = "tenant_id = %(t)s"
CORRUPTIONS: list[tuple[str, list[str], set[str]]] = [
    ("balance", [f"UPDATE ledger.account SET balance = balance + 5 WHERE {T} AND code = 'b'"],
     {"balance_mismatch"}),
    ("pending_out", [f"UPDATE ledger.account SET pending_out = 0 WHERE {T} AND code = 'a'"],
     {"pending_out_mismatch"}),
    ("pending_in", [f"UPDATE ledger.account SET pending_in = 1 WHERE {T} AND code = 'capped'"],
     {"pending_in_mismatch"}),
    ("status-posted-to-voided",
     [f"UPDATE ledger.entry SET status = 'voided' WHERE {T} AND idempotency_key = 'back'"],
     {"status_mismatch"}),
    ("status-pending-to-posted",
     [f"UPDATE ledger.entry SET status = 'posted' WHERE {T} AND idempotency_key = 'held'"],
     {"status_mismatch"}),
    ("status-reversed-early",
     [f"UPDATE ledger.entry SET status = 'reversed' WHERE {T} AND idempotency_key = 'moved'"],
     {"status_mismatch"}),
    ("posting-amount",
     [f"UPDATE ledger.posting SET amount = amount + 1 WHERE {T} AND kind = 'B'"
      " AND entry_id = (SELECT entry_id FROM ledger.entry WHERE idempotency_key = 'moved'"
      f" AND {T}) AND amount > 0"],
     {"entry_unbalanced", "balance_mismatch", "status_mismatch"}),
    ("hold-posting-amount",
     [f"UPDATE ledger.posting SET amount = amount - 1 WHERE {T} AND kind = 'O'"],
     {"hold_unbalanced", "pending_out_mismatch"}),
    ("posting-deleted",
     [f"DELETE FROM ledger.posting WHERE {T} AND posting_no = 2 AND entry_id ="
      f" (SELECT entry_id FROM ledger.entry WHERE idempotency_key = 'moved' AND {T})"],
     {"entry_unbalanced", "balance_mismatch", "status_mismatch"}),
    ("entry-without-postings",
     ["INSERT INTO ledger.entry (tenant_id, idempotency_key, fingerprint, status, amount)"
      " VALUES (%(t)s, 'ghost', gen_random_uuid(), 'posted', 5)"],
     {"entry_without_postings"}),
    ("reversed-amount",
     [f"UPDATE ledger.entry SET reversed_amount = 150 WHERE {T} AND idempotency_key = 'moved'"],
     {"reversal_mismatch"}),
    # The CHECK constraints are the first line for limits; drop them to see verify's own check.
    ("below-floor",
     ["ALTER TABLE ledger.account DROP CONSTRAINT account_floor",
      f"UPDATE ledger.account SET min_balance = -100 WHERE {T} AND code = 'credit'"],
     {"below_floor"}),
    ("above-ceiling",
     ["ALTER TABLE ledger.account DROP CONSTRAINT account_ceiling",
      f"UPDATE ledger.account SET max_balance = 10 WHERE {T} AND code = 'capped'"],
     {"above_ceiling"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("statements", "expected"), [c[1:] for c in CORRUPTIONS], ids=[c[0] for c in CORRUPTIONS]
)
def test_verify_goes_red(book: Ledger, statements: list[str], expected: set[str]) -> None:
    with book.conn.transaction(force_rollback=True):
        book.conn.execute("SET LOCAL session_replication_role = replica")
        for statement in statements:
            book.conn.execute(statement, {"t": book.tenant})
        found = book.verify()
        assert {v["check_name"] for v in found} == expected, found
        assert all(v["tenant"] == book.tenant for v in found)
        assert {v["check_name"] for v in book.verify(everywhere=True)} >= expected
    assert book.verify() == []
