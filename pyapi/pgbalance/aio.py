"""The asynchronous client: the calls of :class:`pgbalance.client.Client`, awaited, over a
psycopg ``AsyncConnectionPool`` (docs/client.md, "Async")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar, Unpack, final

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from pgbalance.client import Kernel
from pgbalance.connection import Call, Options, Pooled, Remembering, unreachable
from pgbalance.models import Change, StatementPageLine

T = TypeVar("T")


class OwnAsyncPool(Remembering, AsyncConnectionPool[psycopg.AsyncConnection[Any]]):
    async def _connect(self, timeout: float | None = None) -> psycopg.AsyncConnection[Any]:
        with self.noting():
            return await super()._connect(timeout)


@final
class AsyncExecutor(Pooled[AsyncConnectionPool]):
    """Awaits one SQL function call per transaction on a pooled connection; the same tries
    and bounds as :class:`pgbalance.connection.Executor`."""

    def __init__(self, target: str | AsyncConnectionPool, **options: Unpack[Options]) -> None:
        super().__init__(target, (AsyncConnectionPool, OwnAsyncPool), options)

    async def open(self) -> None:
        """Open the executor's own pool (an async pool opens inside a running event loop)."""
        if self.owns_pool:
            await self.pool.open()

    async def close(self) -> None:
        if self.owns_pool:
            await self.pool.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        try:
            conn = await self.pool.getconn()
        except PoolTimeout as timeout:
            raise unreachable(self.pool, timeout) from timeout
        try:
            yield conn
        finally:
            await self.pool.putconn(conn)

    async def run(self, call: Call[T]) -> T:
        tries = self.retry.tries()
        for pause in tries:
            await asyncio.sleep(pause)
            async with self._connection() as conn:
                with tries.attempt():
                    async with conn.cursor(row_factory=call.row_factory) as cur:
                        await cur.execute(call.sql, call.params)
                        found: list[Any] = await cur.fetchall()
                    if not conn.autocommit:
                        await conn.commit()
                    return call.result(found)
        raise AssertionError("unreachable: the last try returns or raises")


class AsyncClient(Kernel[AsyncExecutor]):
    """The asynchronous client over a conninfo string (it then owns a small pool, opened by
    ``async with`` or :meth:`open`) or an ``AsyncConnectionPool`` the caller opens; every
    method of :class:`pgbalance.client.Client` returns a coroutine here."""

    def __init__(self, target: str | AsyncConnectionPool, **options: Unpack[Options]) -> None:
        super().__init__(AsyncExecutor(target, **options))

    async def open(self) -> AsyncClient:
        await self.executor.open()
        return self

    async def close(self) -> None:
        await self.executor.close()

    async def __aenter__(self) -> AsyncClient:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def changes(
        self, tenant: str, after: str | None = None, limit: int = 100
    ) -> AsyncIterator[Change]:
        """`Client.changes`, awaited: the tenant's changes after `after`, one `changes_page`
        call per page, until a read returns nothing (docs/changes.md)."""
        while page := await self.changes_page(tenant, after, limit):
            for change in page:
                yield change

    async def statement_pages(
        self, tenant: str, code: str, page_size: int = 100, after: str | None = None
    ) -> AsyncIterator[list[StatementPageLine]]:
        """:meth:`pgbalance.client.Client.statement_pages`, awaited page by page."""
        while True:
            page = await self.statement_page(tenant, code, after, page_size)
            if page:
                yield page
            if len(page) < page_size:
                return
            after = page[-1].cursor
