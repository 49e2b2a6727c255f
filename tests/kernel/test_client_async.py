"""The async client against real PostgreSQL: the same declared calls as the sync client,
awaited; errors as pgbalance.errors classes with DETAIL parsed; concurrent calls on real
parallel connections; and the same fail-fast bound."""

from __future__ import annotations

import asyncio
import inspect
import re
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool

from pgbalance import Client, errors
from pgbalance.aio import AsyncClient
from pgbalance.client import Kernel
from pgbalance.connection import Namespace, api
from pgbalance.models import Account, EntryResult
from pgbalance.workflows.wallet import WalletTx
from tests.kernel.support import Ledger, new_key

T = TypeVar("T")
SCHEMAS = ("ledger", "wallet", "booking", "fees", "tuition")


def run(dsn: str, body: Callable[[AsyncClient], Awaitable[T]]) -> T:
    async def main() -> T:
        async with AsyncClient(dsn) as client:
            return await body(client)

    return asyncio.run(main())


def declared(namespace: type[Namespace[Any]]) -> dict[str, api[Any, Any]]:
    return {
        n: v for klass in namespace.__mro__ for n, v in vars(klass).items() if isinstance(v, api)
    }


def namespaces(client: Kernel[Any]) -> list[Namespace[Any]]:
    return [client, client.wallet, client.booking, client.fees, client.tuition]


def test_both_clients_share_one_declaration_of_each_call(
    kernel_conn: psycopg.Connection[Any], kernel_dsn: str
) -> None:
    """Each method is declared once (an api builder) and calls exactly one public SQL
    function that exists; sync and async clients expose the same names."""
    with Client(kernel_dsn) as sync:
        async_client = AsyncClient(kernel_dsn)  # never opened: only its surface is read
        for mine, theirs in zip(namespaces(sync), namespaces(async_client), strict=True):
            names = declared(type(mine))
            assert names and names == declared(type(theirs))
            for name, spec in names.items():
                assert callable(getattr(mine, name)) and callable(getattr(theirs, name))
                params = list(inspect.signature(spec.build).parameters)[1:]
                call = spec.build(mine, *[None] * len(params))
                called = re.findall(rf"\b((?:{'|'.join(SCHEMAS)})\.[a-z_]+)\(", call.sql)
                assert len(called) == 1, (name, call.sql)
                assert not called[0].split(".")[1].startswith("_")
                assert kernel_conn.execute(
                    "SELECT to_regproc(%s) IS NOT NULL", called
                ).fetchone() == (True,), called  # fmt: skip


def test_kernel_and_workflow_calls_awaited(ledger: Ledger, kernel_dsn: str) -> None:
    t = ledger.tenant

    async def body(c: AsyncClient) -> None:
        await c.open_account(t, "a", "EUR", min_balance=None)
        account = await c.open_account(t, "b", "EUR", max_balance=500)
        assert isinstance(account, Account) and account.max_balance == 500
        moved = await c.transfer(t, "k1", "a", "b", 100)
        assert isinstance(moved, EntryResult) and moved.replayed is False
        assert (await c.transfer(t, "k1", "a", "b", 100)).replayed is True
        assert (await c.get_account(t, "b")).balance == 100
        assert [line.amount for line in await c.statement(t, "b")] == [100]
        await c.wallet.open(t, "alice", "EUR")
        topup = await c.wallet.topup(t, "alice", 300, "top-1")
        assert isinstance(topup, WalletTx) and topup.kind == "topup"
        await c.wallet.purchase(t, "alice", 120, "buy-1")
        assert (await c.wallet.balance(t, "alice")).balance == 180
        assert [x.reference for x in await c.wallet.history(t, "alice")] == ["top-1", "buy-1"]

    run(kernel_dsn, body)
    assert ledger.balance("b") == 100


def test_errors_carry_their_class_and_parsed_detail(ledger: Ledger, kernel_dsn: str) -> None:
    t = ledger.tenant
    ledger.open("a")
    ledger.open("b", max_balance=50)
    ledger.open("w", min_balance=None)
    ledger.transfer(new_key(), "w", "a", 1000)
    ledger.post(new_key(), [("a", -234), ("w", 234)], pending=True)

    async def body(c: AsyncClient) -> tuple[BaseException, ...]:
        calls = (
            c.transfer(t, new_key(), "a", "w", 5000),
            c.transfer(t, new_key(), "a", "b", 51),
            c.get_account(t, "ghost"),
        )
        return tuple(await asyncio.gather(*calls, return_exceptions=True))

    funds, limit, missing = run(kernel_dsn, body)
    assert isinstance(funds, errors.InsufficientFunds) and funds.sqlstate == "PB001"
    assert funds.details["available"] == 766 and funds.details["requested"] == 5000
    assert funds.details["pending"] == 234 and funds.details["account"] == "a"
    assert isinstance(limit, errors.LimitExceeded)
    assert limit.details["max_balance"] == 50 and limit.details["requested"] == 51
    assert isinstance(missing, errors.NotFound) and missing.details == {"account": "ghost"}


def test_concurrent_calls_with_one_key_move_money_once(ledger: Ledger, kernel_dsn: str) -> None:
    """Eight calls with one key, gathered on the client's pool (parallel connections): one
    entry, every caller gets it, seven as replays."""
    t = ledger.tenant
    ledger.open("a", min_balance=None)
    ledger.open("b")

    async def body(c: AsyncClient) -> list[EntryResult]:
        return await asyncio.gather(*(c.transfer(t, "same", "a", "b", 7) for _ in range(8)))

    results = run(kernel_dsn, body)
    assert len({r.entry_id for r in results}) == 1
    assert sorted(r.replayed for r in results) == [False] + [True] * 7
    assert ledger.balance("b") == 7


def test_a_call_killed_mid_flight_is_resent(
    ledger: Ledger, kernel_dsn: str, kconnect: Callable[..., Any]
) -> None:
    """The awaited call's backend dies while it waits on a row lock: the executor resends it
    on a new connection and the transfer happens once."""
    t = ledger.tenant
    ledger.open("a", min_balance=None)
    ledger.open("b")
    app = f"pgb-async-{uuid.uuid4().hex[:8]}"
    locker = kconnect(autocommit=False)
    locker.execute(
        "SELECT 1 FROM ledger.account WHERE tenant_id = %s AND code = 'a' FOR UPDATE", (t,)
    )
    waiting = "FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'"

    async def main() -> tuple[EntryResult, int]:
        async with AsyncClient(make_conninfo(kernel_dsn, application_name=app)) as c:
            call = asyncio.create_task(c.transfer(t, "k-mid", "a", "b", 70))
            for _ in range(500):  # until the call provably waits on the lock
                if ledger.scalar(f"SELECT count(*) AS n {waiting}", (app,)):
                    break
                await asyncio.sleep(0.01)
            assert ledger.scalar(f"SELECT count(pg_terminate_backend(pid)) AS n {waiting}", (app,))
            locker.commit()
            return await call, c.executor.retries

    result, retries = asyncio.run(main())
    assert result.replayed is False and retries >= 1
    assert ledger.balance("b") == 70


def test_over_a_pool_the_caller_owns(ledger: Ledger, kernel_dsn: str) -> None:
    """A caller's pool (not autocommit): each call is committed, and closing the client
    leaves the pool open."""
    t = ledger.tenant

    async def main() -> None:
        async with AsyncConnectionPool(kernel_dsn, min_size=1, max_size=2, open=False) as pool:
            async with AsyncClient(pool) as c:
                await c.open_account(t, "a", "EUR")
            assert not pool.closed

    asyncio.run(main())
    assert ledger.balance("a") == 0


def test_unreachable_server_fails_within_the_connect_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        conninfo = f"postgresql://postgres@127.0.0.1:{sock.getsockname()[1]}/pgbalance"

        async def main() -> None:
            async with AsyncClient(conninfo, connect_timeout=2) as c:
                await c.get_account("acme", "a")

        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError) as info:
            asyncio.run(main())
        elapsed = time.monotonic() - started
    assert info.value.pgconn is not None  # libpq's reason, not a pool timeout
    assert elapsed < 2 + 10  # generous: a bound on behaviour, not a speed measure


def test_docs_list_every_method() -> None:
    """docs/client.md's method table names each declared call once, with its namespace."""
    doc = (Path(__file__).parents[2] / "docs" / "client.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| `([a-z_.]+)\(", doc, re.MULTILINE)
    client = AsyncClient("")  # never opened
    prefixes = ["", "wallet.", "booking.", "fees.", "tuition."]
    expected = [
        prefix + name
        for prefix, ns in zip(prefixes, namespaces(client), strict=True)
        for name in declared(type(ns))
    ]
    assert sorted(listed) == sorted(expected)
