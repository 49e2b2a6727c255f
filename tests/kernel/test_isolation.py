"""Isolation: every function that writes runs at READ COMMITTED. Inside a REPEATABLE READ or
SERIALIZABLE transaction it raises 25000 before writing anything (its key included); reads
work at any level. Under REPEATABLE READ the key claim and the account locks would otherwise
surface 40001 to concurrent callers (6 transfers with one key gave 5 x 40001)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.helpers.barrier import run_parallel, sqlstates
from tests.kernel.support import Ledger, new_key, raises
from tests.kernel.test_access import call_with_nulls, public_functions

LEVELS = ["repeatable read", "serializable"]


@pytest.mark.parametrize("level", LEVELS)
def test_every_write_refuses_isolation_above_read_committed(
    ledger: Ledger, kconnect: Callable[..., psycopg.Connection[Any]], level: str
) -> None:
    """Called with every argument but the tenant NULL, a write raises 25000 first (before the
    22023 such arguments would give); a read gets past the check."""
    conn = kconnect()
    writes = reads = 0
    hint: str | None = None
    for fn, nargs, volatility, _src in public_functions(conn):
        with conn.transaction():
            conn.execute(f"SET TRANSACTION ISOLATION LEVEL {level}")
            try:
                with conn.transaction():  # a savepoint: the outer transaction stays usable
                    call_with_nulls(conn, fn, nargs, ledger.tenant)
                got = "ok"
            except psycopg.Error as exc:
                got = exc.sqlstate or "?"
                hint = exc.diag.message_hint
            if volatility == "v":
                writes += 1
                assert (got, bool(hint)) == ("25000", True), fn
            else:
                reads += 1
                assert got != "25000", fn
    assert writes >= 25 and reads >= 13


@pytest.mark.parametrize("level", LEVELS)
def test_a_refused_write_leaves_nothing_and_its_key_free(
    ledger: Ledger, kconnect: Callable[..., psycopg.Connection[Any]], level: str
) -> None:
    ledger.open("a")
    ledger.fund("a", 100)
    ledger.open("b")
    before = ledger.state()
    conn = kconnect()
    with conn.transaction():
        conn.execute(f"SET TRANSACTION ISOLATION LEVEL {level}")
        book = Ledger(conn, ledger.tenant)
        assert book.balance("a") == 100  # reads work
        assert book.statement("a")[-1]["balance_after"] == 100
        with raises("25000") as info:
            book.transfer("k-rr", "a", "b", 10)
        assert info.value.diag.message_detail == f"transaction_isolation={level}"
    assert ledger.state() == before
    assert ledger.transfer("k-rr", "a", "b", 10)["replayed"] is False


def test_default_isolation_set_higher_is_refused_until_the_transaction_says_read_committed(
    ledger: Ledger, kconnect: Callable[..., psycopg.Connection[Any]]
) -> None:
    """What the HINT says: set READ COMMITTED for the transaction that makes the call."""
    ledger.open("a")
    ledger.fund("a", 100)
    ledger.open("b")
    conn = kconnect()
    conn.execute("SET default_transaction_isolation = 'repeatable read'")
    book = Ledger(conn, ledger.tenant)
    with raises("25000"):
        book.transfer(new_key(), "a", "b", 10)
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        book.transfer(new_key(), "a", "b", 10)
    assert ledger.balance("b") == 10


def test_read_uncommitted_writes_like_read_committed(
    ledger: Ledger, kconnect: Callable[..., psycopg.Connection[Any]]
) -> None:
    """PostgreSQL runs READ UNCOMMITTED as READ COMMITTED: writes go through."""
    ledger.open("a")
    ledger.fund("a", 100)
    ledger.open("b")
    conn = kconnect()
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED")
        Ledger(conn, ledger.tenant).transfer(new_key(), "a", "b", 10)
    assert ledger.balance("b") == 10


@pytest.mark.parametrize("level", ["REPEATABLE READ", "SERIALIZABLE"])
def test_concurrent_transfers_with_one_key_above_read_committed_all_get_25000(
    ledger: Ledger, kernel_dsn: str, level: str
) -> None:
    """The review's case: 6 concurrent transfers with one key at REPEATABLE READ gave
    5 x 40001. Now each is refused before it claims the key, and none surfaces 40001."""
    ledger.open("a")
    ledger.fund("a", 100)
    ledger.open("b")
    before = ledger.state()

    def call(conn: psycopg.Connection[Any], _i: int) -> None:
        with conn.transaction():
            conn.execute(f"SET TRANSACTION ISOLATION LEVEL {level}")
            conn.execute("SELECT * FROM ledger.transfer(%s, 'same', 'a', 'b', 10)",
                         (ledger.tenant,))  # fmt: skip

    assert sqlstates(run_parallel(kernel_dsn, 6, call)) == {"25000": 6}
    assert ledger.state() == before
