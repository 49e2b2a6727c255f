"""The Python client: results as frozen rows, errors as pgbalance.errors classes chosen by
SQLSTATE, and transparent retry when the pooled connection is killed."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb

from pgbalance import Client, errors, paths
from pgbalance.models import Account, EntryResult
from tests.kernel.support import Ledger, new_key, tag_cursor


@pytest.fixture
def app_name() -> str:
    return f"pgb-kernel-client-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def client(kernel_dsn: str, app_name: str) -> Iterator[Client]:
    params = conninfo_to_dict(kernel_dsn)
    params["application_name"] = app_name
    with Client(make_conninfo(**params)) as c:
        yield c


@pytest.fixture
def book(ledger: Ledger, client: Client) -> Ledger:
    client.open_account(ledger.tenant, "a", "EUR")
    client.open_account(ledger.tenant, "b", "EUR", max_balance=500)
    client.open_account(ledger.tenant, "usd", "USD")
    client.open_account(ledger.tenant, "w", "EUR", min_balance=None)
    client.transfer(ledger.tenant, new_key(), "w", "a", 1000)
    return ledger


def test_results_are_frozen_rows(book: Ledger, client: Client) -> None:
    account = client.get_account(book.tenant, "a")
    assert isinstance(account, Account) and account.balance == 1000 and account.available == 1000
    moved = client.transfer(book.tenant, "t1", "a", "b", 100, {"n": 1})
    assert isinstance(moved, EntryResult) and moved.replayed is False
    assert client.transfer(book.tenant, "t1", "a", "b", 100).replayed is True
    with pytest.raises(dataclasses.FrozenInstanceError):
        moved.status = "voided"  # type: ignore[misc]
    entry = client.get_entry(book.tenant, moved.entry_id)
    assert entry.legs == [{"account": "a", "amount": -100}, {"account": "b", "amount": 100}]
    assert client.statement(book.tenant, "b")[-1].balance_after == 100
    assert client.verify(book.tenant) == []


def _raise_pb009(book: Ledger, client: Client) -> None:
    try:
        book.conn.execute("DELETE FROM ledger.posting WHERE false")
    except psycopg.Error as e:
        raise errors.translate(e) from e


def _raise_pb008(book: Ledger, client: Client) -> None:
    """A second payment for a term with one awaiting approval (tuition has no client
    methods: the SQL error goes through the same translation)."""
    terms = Jsonb([{"name": "T1", "amount": 3000}])
    book.conn.execute("SELECT * FROM tuition.create_assessment(%s, 'stu', 'EUR', %s)",
                      (book.tenant, terms))  # fmt: skip
    submit = "SELECT * FROM tuition.submit_payment(%s, 'stu', 1, 1000, %s)"
    book.conn.execute(submit, (book.tenant, "p1"))
    try:
        book.conn.execute(submit, (book.tenant, "p2"))
    except psycopg.Error as e:
        raise errors.translate(e) from e


def _raise_25000(book: Ledger, client: Client) -> None:
    """A write above READ COMMITTED (the client's own connections never are: set by hand)."""
    try:
        with book.conn.transaction():
            book.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            book.conn.execute("SELECT * FROM ledger.transfer(%s, %s, 'a', 'b', 1)",
                              (book.tenant, new_key()))  # fmt: skip
    except psycopg.Error as e:
        raise errors.translate(e) from e


def _raise_72000(book: Ledger, client: Client) -> None:
    """A well-tagged change-feed cursor that names another server."""
    cursor = tag_cursor(book.conn, book.tenant, "n/n/0/0/42.1")
    try:
        book.rows("SELECT * FROM ledger.changes(%s, %s)", (book.tenant, cursor))
    except psycopg.Error as e:
        raise errors.translate(e) from e


Case = tuple[str, type[errors.PgBalanceError], Callable[[Ledger, Client], Any]]
CASES: list[Case] = [
    ("PB001", errors.InsufficientFunds,
     lambda x, c: c.transfer(x.tenant, new_key(), "a", "b", 5000)),
    ("PB002", errors.LimitExceeded, lambda x, c: c.transfer(x.tenant, new_key(), "a", "b", 501)),
    ("PB003", errors.IdempotencyConflict,
     lambda x, c: (c.transfer(x.tenant, "dup", "a", "b", 1),
                   c.transfer(x.tenant, "dup", "a", "b", 2))),
    ("PB004", errors.InvalidState, lambda x, c: c.close_account(x.tenant, "a")),
    ("PB005", errors.NotFound, lambda x, c: c.get_account(x.tenant, "ghost")),
    ("PB006", errors.CurrencyMismatch, lambda x, c: c.transfer(x.tenant, new_key(), "a", "usd", 1)),
    ("PB007", errors.AccountClosed,
     lambda x, c: (c.open_account(x.tenant, "z", "EUR"), c.close_account(x.tenant, "z"),
                   c.hold(x.tenant, new_key(), "a", "z", 1))),
    ("PB008", errors.DuplicatePending, _raise_pb008),
    ("PB009", errors.LedgerImmutable, _raise_pb009),
    ("25000", errors.InvalidTransactionState, _raise_25000),
    ("72000", errors.CursorFromAnotherServer, _raise_72000),
    ("22023", errors.InvalidInput, lambda x, c: c.transfer(x.tenant, new_key(), "a", "b", 0)),
]  # fmt: skip


@pytest.mark.parametrize(("code", "cls", "call"), CASES, ids=[c[0] for c in CASES])
def test_errors_map_to_classes_by_sqlstate(
    book: Ledger, client: Client, code: str, cls: type[errors.PgBalanceError],
    call: Callable[[Ledger, Client], Any],
) -> None:  # fmt: skip
    with pytest.raises(errors.PgBalanceError) as info:
        call(book, client)
    assert type(info.value) is cls
    assert info.value.sqlstate == code == errors.BY_SQLSTATE[code].sqlstate
    assert isinstance(info.value.__cause__, psycopg.Error)
    assert info.value.__cause__.sqlstate == code
    assert info.value.detail is not None
    assert info.value.details  # DETAIL's key=value fields, parsed


def test_every_documented_sqlstate_has_a_mapping_case() -> None:
    assert {code for code, _, _ in CASES} == set(errors.BY_SQLSTATE) - {"42501"}  # below


def test_insufficient_privilege_maps_to_its_class(book: Ledger, kernel_dsn: str) -> None:
    role = f"pgb_kernel_test_{uuid.uuid4().hex[:10]}"
    book.conn.execute(f'CREATE ROLE "{role}" LOGIN IN ROLE pgbalance_app')
    try:
        params = conninfo_to_dict(kernel_dsn)
        params.update(user=role)
        with Client(make_conninfo(**params)) as app:
            assert app.get_account(book.tenant, "a").balance == 1000
            with pytest.raises(errors.InsufficientPrivilege):
                app.verify()
    finally:
        book.conn.execute(f'DROP ROLE "{role}"')


def _kill(book: Ledger, app_name: str) -> int:
    killed: int = book.scalar(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity"
        " WHERE application_name = %s AND pid <> pg_backend_pid()",
        (app_name,),
    )
    return killed


def test_call_after_the_pooled_backend_was_killed(
    book: Ledger, client: Client, app_name: str
) -> None:
    first = client.transfer(book.tenant, "k1", "a", "b", 100)
    assert _kill(book, app_name) >= 1
    assert client.transfer(book.tenant, "k1", "a", "b", 100) == dataclasses.replace(
        first, replayed=True
    )
    assert _kill(book, app_name) >= 1
    second = client.transfer(book.tenant, "k2", "a", "b", 50)
    assert second.replayed is False
    assert client.get_account(book.tenant, "b").balance == 150
    assert book.key_exists("k1") and book.key_exists("k2")


def test_call_killed_mid_flight_is_retried_once(
    book: Ledger, client: Client, app_name: str, kconnect: Callable[..., Any]
) -> None:
    """The client's backend dies while the call waits on a lock; the executor retries on a
    new connection and the movement happens exactly once."""
    client.get_account(book.tenant, "a")  # warm the pool
    locker = kconnect(autocommit=False)
    locker.execute(
        "SELECT 1 FROM ledger.account WHERE tenant_id = %s AND code = 'a' FOR UPDATE",
        (book.tenant,),
    )
    result: dict[str, Any] = {}

    def call() -> None:
        try:
            result["row"] = client.transfer(book.tenant, "k-mid", "a", "b", 70)
        except BaseException as exc:  # surfaced by the assertion below
            result["error"] = exc

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    waiting = 0
    for _ in range(500):  # until the call is provably waiting on the row lock
        waiting = book.scalar(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = %s"
            " AND wait_event_type = 'Lock'",
            (app_name,),
        )
        if waiting:
            break
        time.sleep(0.01)
    assert waiting == 1
    retries = client.executor.retries
    assert _kill(book, app_name) >= 1
    locker.commit()
    thread.join(30)
    assert "error" not in result, result
    assert result["row"].replayed is False
    assert client.executor.retries > retries
    assert client.get_account(book.tenant, "b").balance == 70
    assert book.scalar(
        "SELECT count(*) AS n FROM ledger.entry WHERE tenant_id = %s AND idempotency_key"
        " = 'k-mid'", (book.tenant,)
    ) == 1  # fmt: skip


def test_details_keep_codes_with_spaces_and_equals_whole(book: Ledger, client: Client) -> None:
    """The review's case: an account code `z b=7 available=999` used to split into fields of
    its own (account=z, b=7, available=999 overriding the real one)."""
    code = "z b=7 available=999"
    client.open_account(book.tenant, code, "EUR")
    with pytest.raises(errors.InsufficientFunds) as info:
        client.transfer(book.tenant, new_key(), code, "b", 5)
    details = info.value.details
    assert details["account"] == code
    assert details["available"] == 0 and details["requested"] == 5
    assert "b" not in details


def test_detail_keys_cover_every_key_the_kernel_writes() -> None:
    """DETAIL_KEYS (the parser's field starts) holds every `key=` of sql/'s DETAILs."""
    root = Path(paths.sql_dir())
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.sql")))
    written = set(re.findall(r"[ '(]([a-z_][a-z0-9_]*)=%[sLI]", text))
    written |= set(re.findall(r"ledger\._check_[a-z]+\('([a-z_]+)'", text))
    assert written and written <= errors.DETAIL_KEYS, written - errors.DETAIL_KEYS
