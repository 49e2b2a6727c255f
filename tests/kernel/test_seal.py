"""Seals: a digest chain over sealed history, per-account checkpoints, balance_at from them,
and verify that checks only what came after the last seal while verify_full and a digest
exported earlier catch tampering with sealed history.

Damage is done inside transactions that are rolled back (as in test_verify), by the owner
with the triggers disabled or by a superuser with session_replication_role = replica.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import psycopg
import pytest

from tests.helpers.sqlstate import raises
from tests.kernel.support import Ledger, new_key
from tests.kernel.test_verify import CORRUPTIONS, fill

Row = dict[str, Any]


def seal(book: Ledger) -> Row:
    return book.call("seal")


def checks(rows: list[Row]) -> set[str]:
    return {r["check_name"] for r in rows}


def verify_full(book: Ledger) -> list[Row]:
    return book.rows("SELECT * FROM ledger.verify_full(%s)", (book.tenant,))


def verify_seal(book: Ledger, digest: str) -> list[Row]:
    return book.rows("SELECT * FROM ledger.verify_seal(%s, %s)", (book.tenant, digest))


@pytest.fixture
def sealed(ledger: Ledger) -> tuple[Ledger, str]:
    """A tenant with history, a hold still pending across the seal, one seal (its digest
    'exported'), and movements after it."""
    fill(ledger)
    first = seal(ledger)
    ledger.transfer("after", "a", "b", 40)
    ledger.capture(ledger.entry_id("held"), 30)
    return ledger, first["digest"]


def test_seal_chains_digests(ledger: Ledger) -> None:
    ledger.open("a", min_balance=None)
    ledger.open("b")
    ledger.transfer(new_key(), "a", "b", 5)
    first = seal(ledger)
    assert (first["seal_no"], first["entries"], first["postings"]) == (1, 1, 2)
    assert len(first["digest"]) == 64
    second = seal(ledger)  # nothing new: the chain still moves on
    assert (second["seal_no"], second["entries"], second["postings"]) == (2, 0, 0)
    assert second["digest"] != first["digest"]
    ledger.transfer(new_key(), "b", "a", 2)
    third = seal(ledger)
    assert (third["seal_no"], third["entries"], third["postings"]) == (3, 1, 2)
    stored = ledger.rows(
        "SELECT seal_no, prev_digest, digest FROM ledger.seal WHERE tenant_id = %s ORDER BY 1",
        (ledger.tenant,),
    )
    assert [r["prev_digest"] for r in stored] == ["", first["digest"], second["digest"]]
    for row in (first, second, third):
        assert verify_seal(ledger, row["digest"]) == []
    assert verify_full(ledger) == []
    assert ledger.verify() == []


def test_balance_at_from_checkpoints(ledger: Ledger) -> None:
    """balance_at equals the sum of postings up to each instant, before, between and after
    seals, striped accounts and holds captured across a seal included."""
    ledger.open("w", min_balance=None)
    ledger.open("a")
    ledger.open("rev", min_balance=None, max_balance=None)
    ledger.call("set_account_stripes", "rev", 4)
    times: list[datetime] = [ledger.now()]
    hold = None
    for round_no in range(4):
        ledger.transfer(new_key(), "w", "a", 100 + round_no)
        ledger.transfer(new_key(), "a", "rev", 7 + round_no)
        if round_no == 1:
            hold = ledger.hold(new_key(), "a", "rev", 20)
        if round_no == 2:
            assert hold is not None
            ledger.capture(hold["entry_id"], 15)
        times.append(ledger.now())
        if round_no % 2 == 0:
            seal(ledger)
            times.append(ledger.now())
    for at in times:
        for code in ("w", "a", "rev"):
            expected = ledger.scalar(
                "SELECT coalesce(sum(p.amount), 0) AS s FROM ledger.posting AS p"
                " JOIN ledger.account AS a USING (tenant_id, account_id)"
                " WHERE p.tenant_id = %s AND a.code = %s AND p.kind = 'B' AND p.posted_at <= %s",
                (ledger.tenant, code, at),
            )
            assert ledger.balance_at(code, at) == expected, (code, at)
    for code in ("w", "a", "rev"):
        assert ledger.balance_at(code, "infinity") == ledger.balance(code)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("statements", "expected"), [c[1:] for c in CORRUPTIONS], ids=[c[0] for c in CORRUPTIONS]
)
def test_incremental_verify_goes_red(
    ledger: Ledger, statements: list[str], expected: set[str]
) -> None:
    """Every check of verify, on history made after a seal, is still made by the incremental
    verify (the same damage as test_verify, the same findings)."""
    ledger.open("old", min_balance=None)
    ledger.open("older")
    ledger.transfer(new_key(), "old", "older", 3)
    seal(ledger)
    fill(ledger)
    with ledger.conn.transaction(force_rollback=True):
        ledger.conn.execute("SET LOCAL session_replication_role = replica")
        for statement in statements:
            ledger.conn.execute(statement, {"t": ledger.tenant})
        assert checks(ledger.verify()) == expected
        assert checks(verify_full(ledger)) >= expected
    assert ledger.verify() == []


MOVED = "(SELECT entry_id FROM ledger.entry WHERE tenant_id = %(t)s AND idempotency_key = 'moved')"
SEALED_TAMPERING: list[tuple[str, str, list[str]]] = [
    ("changed", "owner", [
        f"UPDATE ledger.posting SET amount = amount + 1 WHERE tenant_id = %(t)s"
        f" AND entry_id = {MOVED} AND kind = 'B' AND amount > 0"]),
    ("deleted", "replica", [
        f"DELETE FROM ledger.posting WHERE tenant_id = %(t)s AND entry_id = {MOVED}"
        " AND posting_no = 2"]),
    ("inserted", "replica", [
        "INSERT INTO ledger.posting (tenant_id, entry_id, posting_no, account_id, kind, amount,"
        " posted_at) SELECT tenant_id, entry_id, 99, account_id, 'B', 1, posted_at"
        f" FROM ledger.posting WHERE tenant_id = %(t)s AND entry_id = {MOVED} AND posting_no = 1"]),
    ("entry-changed", "owner", [
        f"UPDATE ledger.entry SET metadata = '{{\"x\": 1}}' WHERE tenant_id = %(t)s"
        f" AND entry_id = {MOVED}"]),
]  # fmt: skip


def bypass(book: Ledger, who: str) -> None:
    if who == "owner":
        book.conn.execute("ALTER TABLE ledger.posting DISABLE TRIGGER USER")
        book.conn.execute("ALTER TABLE ledger.entry DISABLE TRIGGER USER")
    else:
        book.conn.execute("SET LOCAL session_replication_role = replica")


@pytest.mark.parametrize(
    ("who", "statements"), [c[1:] for c in SEALED_TAMPERING], ids=[c[0] for c in SEALED_TAMPERING]
)
def test_sealed_tampering_is_caught(
    sealed: tuple[Ledger, str], who: str, statements: list[str]
) -> None:
    book, exported = sealed
    with book.conn.transaction(force_rollback=True):
        bypass(book, who)
        for statement in statements:
            book.conn.execute(statement, {"t": book.tenant})
        # The incremental verify reads only what came after the seal: by design it does not
        # see this; the full check and the exported digest do.
        assert book.verify() == []
        assert "seal_digest_mismatch" in checks(verify_full(book))
        assert checks(verify_seal(book, exported)) == {
            "seal_digest_mismatch", "seal_digest_not_reproduced",
        }  # fmt: skip
    assert verify_full(book) == []
    assert verify_seal(book, exported) == []


def test_rewritten_seal_table_is_caught_by_the_exported_digest(sealed: tuple[Ledger, str]) -> None:
    """Whoever can rewrite history can rewrite ledger.seal too (digests recomputed over the
    changed rows): then only a digest kept elsewhere shows the change."""
    book, exported = sealed
    with book.conn.transaction(force_rollback=True):
        bypass(book, "replica")
        book.conn.execute(SEALED_TAMPERING[0][2][0], {"t": book.tenant})
        book.conn.execute(
            "UPDATE ledger.seal AS s SET digest = d.digest"
            " FROM ledger._seal_digest(%(t)s, '', '-infinity',"
            " (SELECT horizon FROM ledger.seal WHERE tenant_id = %(t)s AND seal_no = 1)) AS d"
            " WHERE s.tenant_id = %(t)s AND s.seal_no = 1",
            {"t": book.tenant},
        )
        assert "seal_digest_mismatch" not in checks(verify_full(book))
        assert checks(verify_seal(book, exported)) == {"seal_digest_not_reproduced"}


def test_tampered_checkpoint_is_caught_by_both(sealed: tuple[Ledger, str]) -> None:
    """The incremental verify starts from the checkpoints, so a changed one shows there as a
    balance mismatch, and verify_full compares every checkpoint with the postings."""
    book, _ = sealed
    with book.conn.transaction(force_rollback=True):
        book.conn.execute(
            "UPDATE ledger.seal_balance SET balance = balance + 1 WHERE tenant_id = %s",
            (book.tenant,),
        )
        assert "balance_mismatch" in checks(book.verify())
        assert "checkpoint_mismatch" in checks(verify_full(book))


def test_broken_links_are_seen_by_verify(sealed: tuple[Ledger, str]) -> None:
    book, _ = sealed
    seal(book)
    with book.conn.transaction(force_rollback=True):
        book.conn.execute(
            "UPDATE ledger.seal SET prev_digest = repeat('0', 64)"
            " WHERE tenant_id = %s AND seal_no = 2",
            (book.tenant,),
        )
        assert checks(book.verify()) == {"seal_chain_broken"}


def test_verify_seal_input(sealed: tuple[Ledger, str]) -> None:
    book, exported = sealed
    with raises("22023"):
        verify_seal(book, "not-a-digest")
    with raises("22023"):
        verify_seal(book, None)  # type: ignore[arg-type]
    assert checks(verify_seal(book, "0" * 64)) == {"seal_digest_not_reproduced"}
    assert verify_seal(book, exported) == []


def test_seal_outside_read_committed(ledger: Ledger) -> None:
    ledger.open("a")
    with ledger.conn.transaction(force_rollback=True):
        ledger.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        with raises("25000"):
            seal(ledger)
    assert ledger.rows("SELECT 1 FROM ledger.seal WHERE tenant_id = %s", (ledger.tenant,)) == []


def test_seal_waits_for_a_movement_in_flight_and_blocks_none(
    ledger: Ledger, kconnect: Any
) -> None:
    """A movement that took its posted_at before the horizon but has not committed yet is
    waited for (so it is sealed, not left behind the horizon); meanwhile other movements go
    through."""
    for code in ("w", "v"):
        ledger.open(code, min_balance=None)
    ledger.open("a")
    ledger.open("b")
    slow: psycopg.Connection[Any] = kconnect()
    slow.autocommit = False
    slow.execute("SELECT * FROM ledger.transfer(%s, 'slow', 'w', 'a', 10)", (ledger.tenant,))
    sealer: psycopg.Connection[Any] = kconnect()
    result: list[Any] = []
    thread = threading.Thread(
        target=lambda: result.append(
            sealer.execute("SELECT postings FROM ledger.seal(%s)", (ledger.tenant,)).fetchone()
        )
    )
    thread.start()
    probe: psycopg.Connection[Any] = kconnect()
    while probe.execute(
        "SELECT wait_event FROM pg_stat_activity WHERE pid = %s", (sealer.info.backend_pid,)
    ).fetchone() != ("PgSleep",):
        assert thread.is_alive()
    ledger.transfer(new_key(), "v", "b", 5)  # not blocked by the seal
    assert thread.is_alive()
    slow.commit()
    thread.join(10)
    assert result == [(2,)]  # the slow transfer's two postings; the later one is after it
    assert verify_full(ledger) == []


def test_seal_of_every_tenant(own: Ledger, db: psycopg.Connection[Any]) -> None:
    """seal(NULL) spans tenants: one seal per tenant, each its own chain."""
    other = Ledger(db, own.tenant + "-2")
    for book in (own, other):
        book.open("a", min_balance=None)
        book.open("b")
        book.transfer(new_key(), "a", "b", 1)
    rows = own.rows("SELECT * FROM ledger.seal(NULL)")
    assert sorted(r["tenant"] for r in rows) == sorted([own.tenant, other.tenant])
    assert len({r["digest"] for r in rows}) == 2
    assert own.rows("SELECT * FROM ledger.verify(NULL)") == []
    assert own.rows("SELECT * FROM ledger.verify_full(NULL)") == []


def _lossy_blocks(book: Ledger, since: datetime) -> int:
    """Heap blocks the BRIN index hands a query for postings since `since` (what a seal and
    the incremental verify read to find their interval)."""
    plan = book.conn.execute(
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, FORMAT JSON) SELECT count(*)"
        " FROM ledger.posting AS p WHERE p.posted_at >= %s",
        (since,),
    ).fetchone()
    assert plan is not None

    def nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
        return [node] + [n for child in node.get("Plans", []) for n in nodes(child)]

    found = nodes(plan[0][0]["Plan"])
    # Read through the BRIN index, or the count below says nothing about it.
    assert any(n.get("Index Name") == "posting_time_brin" for n in found), plan
    return sum(int(n.get("Lossy Heap Blocks", 0) + n.get("Exact Heap Blocks", 0)) for n in found)


def test_seal_summarises_full_block_ranges_only(own: Ledger, dsn: str) -> None:
    """Each seal summarises the BRIN ranges filled since the last summarised one (not the
    partly filled last range), so what comes after a seal is found by reading the ranges
    written since, not every range since the last VACUUM; a seal that finds VACUUM holding
    ledger.posting skips it rather than waiting."""
    own.conn.execute("SET enable_seqscan = off")
    own.conn.execute("SET lock_timeout = '5s'")  # a wait below fails (55P03), never hangs
    # Its own database: no autovacuum may summarise ranges behind the test's back.
    own.conn.execute("ALTER TABLE ledger.posting SET (autovacuum_enabled = off)")
    # Ranges of 2 pages, so a few hundred postings fill several (the default is 128).
    own.conn.execute("DROP INDEX ledger.posting_time_brin")
    own.conn.execute("CREATE INDEX posting_time_brin ON ledger.posting USING brin (posted_at)"
                     " WITH (pages_per_range = 2)")  # fmt: skip
    own.open("src", min_balance=None)
    own.open("dst")

    def grow(transfers: int) -> None:
        items = [{"key": new_key(), "from": "src", "to": "dst", "amount": 1}
                 for _ in range(transfers)]  # fmt: skip
        own.conn.execute("SELECT count(*) FROM ledger.transfer_batch(%s, %s, true)",
                         (own.tenant, psycopg.types.json.Jsonb(items)))  # fmt: skip

    def blocks() -> int:
        return int(own.scalar("SELECT pg_relation_size('ledger.posting') / 8192"))

    grow(1000)
    while blocks() % 2 == 0:  # a partly filled last range, for the check after the seal
        grow(20)
    assert blocks() >= 8
    now = own.now()
    # Only what CREATE INDEX found is summarised: every block written since is read.
    assert _lossy_blocks(own, now) >= blocks() - 2
    seal(own)
    full = blocks() // 2
    # Every full range is summarised now: nothing left to do for the next call...
    assert own.scalar("SELECT ledger._seal_summarize()") == 0
    # ...and a query after the seal reads at most the ranges that may hold later postings.
    assert _lossy_blocks(own, now) <= blocks() - 2 * full + 2
    # The partly filled last range was left alone: inserting into it widens no summary.
    assert blocks() % 2 == 1
    assert own.scalar("SELECT brin_summarize_range('ledger.posting_time_brin', %s)",
                      (2 * full,)) == 1  # fmt: skip
    with psycopg.connect(dsn, autocommit=True) as vacuum:
        grow(1000)
        with vacuum.transaction():
            vacuum.execute("LOCK TABLE ledger.posting IN SHARE UPDATE EXCLUSIVE MODE")
            own.transfer(new_key(), "src", "dst", 1)  # movements never wait for it
            assert seal(own)["postings"] > 0  # nor does the seal (it skips summarising)
            assert own.scalar("SELECT ledger._seal_summarize()") == 0  # skipped: lock busy
        assert own.scalar("SELECT ledger._seal_summarize()") > 0
    # An index left invalid (a failed CREATE INDEX CONCURRENTLY) is not summarised, and the
    # seal goes on.
    grow(1000)
    with own.conn.transaction(force_rollback=True):
        own.conn.execute("UPDATE pg_index SET indisvalid = false"
                         " WHERE indexrelid = 'ledger.posting_time_brin'::regclass")  # fmt: skip
        assert own.scalar("SELECT ledger._seal_summarize()") == 0
        assert seal(own)["postings"] == 2000
    assert own.scalar("SELECT ledger._seal_summarize()") > 0
    assert verify_full(own) == []
    assert own.verify() == []
