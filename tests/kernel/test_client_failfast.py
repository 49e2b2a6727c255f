"""The client fails fast: an unreachable server ends a call within the connect timeout with
libpq's reason, and a call that keeps losing its connection stops resending once its retry
window is spent. Elapsed times are asserted generously: they bound behaviour (seconds, where
the old client hung for minutes), they are not speed measurements."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import PoolTimeout

from pgbalance import Client
from tests.kernel.support import Ledger, new_key

CONNECT_TIMEOUT = 2.0
SLACK = 10.0  # for a loaded machine; the old client took 181 s


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local TCP port that refuses connections: bound (so nothing else takes it), never
    listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_unreachable_server_fails_within_the_connect_timeout(closed_port: int) -> None:
    conninfo = f"postgresql://postgres@127.0.0.1:{closed_port}/pgbalance"
    with pytest.raises(psycopg.OperationalError) as direct:
        psycopg.connect(conninfo, connect_timeout=2)
    started = time.monotonic()
    with Client(conninfo, connect_timeout=CONNECT_TIMEOUT) as client:
        with pytest.raises(psycopg.OperationalError) as info:
            client.get_account("acme", "a")
        elapsed = time.monotonic() - started
        assert client.executor.retries == 0  # nothing was sent, so nothing is resent
    assert not isinstance(info.value, PoolTimeout)
    assert info.value.pgconn is not None  # libpq's own error, as a direct connect reports it
    assert str(info.value) == str(direct.value)
    assert elapsed < CONNECT_TIMEOUT + SLACK


def test_a_call_that_keeps_losing_its_connection_stops_at_the_retry_window(
    ledger: Ledger, kernel_dsn: str, kconnect: Callable[..., Any]
) -> None:
    """Every try waits on a row lock and is terminated there: with attempts to spare, the
    window alone ends the call, with the connection error, and nothing was written."""
    ledger.open("a", min_balance=None)
    ledger.open("b")
    app = f"pgb-failfast-{uuid.uuid4().hex[:8]}"
    locker = kconnect(autocommit=False)
    locker.execute(
        "SELECT 1 FROM ledger.account WHERE tenant_id = %s AND code = 'a' FOR UPDATE",
        (ledger.tenant,),
    )
    stop = threading.Event()

    def kill_waiters() -> None:
        with psycopg.connect(kernel_dsn, autocommit=True) as killer:
            while not stop.wait(0.02):
                killer.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = %s AND wait_event_type = 'Lock'",
                    (app,),
                )

    thread = threading.Thread(target=kill_waiters, daemon=True)
    thread.start()
    window = 1.0
    params = conninfo_to_dict(kernel_dsn) | {"application_name": app}
    key = new_key()
    try:
        with Client(
            make_conninfo(**params),
            attempts=1000,
            retry_window=window,
            connect_timeout=CONNECT_TIMEOUT,
        ) as client:
            started = time.monotonic()
            with pytest.raises(psycopg.OperationalError):
                client.transfer(ledger.tenant, key, "a", "b", 5)
            elapsed = time.monotonic() - started
            retries = client.executor.retries
    finally:
        stop.set()
        thread.join(10)
        locker.rollback()
    assert 1 <= retries < 999
    assert elapsed < window + CONNECT_TIMEOUT + SLACK
    assert not ledger.key_exists(key)
