"""wallet under contention: 20+ connections released together per rule. Every race ends
with the money where the rules say and ledger.verify clean."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.helpers.barrier import Outcome, assert_raced, run_parallel, sqlstates
from tests.workflows.wallet_booking_support import Api, wb_conn, wb_dsn

__all__ = ["wb_conn", "wb_dsn"]  # module fixtures
pytestmark = pytest.mark.concurrency

N = 20
# One reference from N connections: the first call stays uncommitted this long (run_parallel).
LINGER = 0.02


@pytest.fixture
def api(wb_conn: psycopg.Connection[Any], tenant: str) -> Iterator[Api]:
    a = Api(wb_conn, tenant)
    a.call("wallet.open", "alice", "EUR")
    yield a
    assert a.verify() == []


def _replayed(outcomes: list[Outcome[Any]]) -> Counter[Any]:
    return Counter(o.value[0] if o.ok else o.sqlstate for o in outcomes)


def test_one_purchase_reference_from_20_connections_is_deducted_once(api: Api, wb_dsn: str) -> None:
    api.call("wallet.topup", "alice", 1000, "t1")

    def buy(conn: psycopg.Connection[Any], i: int) -> Any:
        return conn.execute("SELECT replayed FROM wallet.purchase(%s, 'alice', 600, 'p1')",
                            (api.tenant,)).fetchone()  # fmt: skip

    outcomes = run_parallel(wb_dsn, N, buy, linger=LINGER)
    assert_raced(outcomes)
    assert _replayed(outcomes) == {False: 1, True: N - 1}
    assert api.call("wallet.balance", "alice")["balance"] == 400


def test_one_topup_reference_from_20_connections_is_credited_once(api: Api, wb_dsn: str) -> None:
    def top(conn: psycopg.Connection[Any], i: int) -> Any:
        return conn.execute("SELECT replayed FROM wallet.topup(%s, 'alice', 250, 't1')",
                            (api.tenant,)).fetchone()  # fmt: skip

    outcomes = run_parallel(wb_dsn, N, top, linger=LINGER)
    assert_raced(outcomes)
    assert _replayed(outcomes) == {False: 1, True: N - 1}
    assert api.call("wallet.balance", "alice")["balance"] == 250


def test_overdraft_purchases_from_20_connections_stop_at_zero(api: Api, wb_dsn: str) -> None:
    api.call("wallet.topup", "alice", 100, "t1")

    def buy(conn: psycopg.Connection[Any], i: int) -> Any:
        return conn.execute("SELECT replayed FROM wallet.purchase(%s, 'alice', 30, %s)",
                            (api.tenant, f"p{i}")).fetchone()  # fmt: skip

    outcomes = run_parallel(wb_dsn, N, buy)
    assert_raced(outcomes)
    assert sqlstates(outcomes) == {"ok": 3, "PB001": N - 3}
    assert api.call("wallet.balance", "alice")["balance"] == 10
    # The refused ones left no row behind.
    assert len(api.call_rows("wallet.history", "alice")) == 1 + 3


def test_purchase_racing_its_own_failure_refunds_at_most_once(api: Api, wb_dsn: str) -> None:
    api.call("wallet.topup", "alice", 1000, "t1")

    def act(conn: psycopg.Connection[Any], i: int) -> Any:
        if i % 2:
            return conn.execute("SELECT 'fail', replayed FROM wallet.fail_purchase(%s, 'p1')",
                                (api.tenant,)).fetchone()  # fmt: skip
        return conn.execute("SELECT 'buy', replayed FROM wallet.purchase(%s, 'alice', 300, 'p1')",
                            (api.tenant,)).fetchone()  # fmt: skip

    # One reference from every connection: linger, so the calls surely overlap under load.
    outcomes = run_parallel(wb_dsn, N, act, linger=LINGER)
    assert_raced(outcomes)
    got = Counter(o.value if o.ok else o.sqlstate for o in outcomes)
    # Failing before the purchase exists is PB005; the purchase is made exactly once.
    assert got[("buy", False)] == 1
    assert got[("buy", False)] + got[("buy", True)] == N // 2
    assert set(got) <= {("buy", False), ("buy", True), ("fail", False), ("fail", True), "PB005"}
    refunds = got[("fail", False)]
    assert refunds <= 1
    status = api.call_rows("wallet.history", "alice")[-1]["status"]
    assert status == ("failed" if refunds else "completed")
    assert api.call("wallet.balance", "alice")["balance"] == (1000 if refunds else 700)


def test_20_concurrent_failures_of_one_purchase_refund_once(api: Api, wb_dsn: str) -> None:
    api.call("wallet.topup", "alice", 1000, "t1")
    api.call("wallet.purchase", "alice", 300, "p1")
    entries = api.entries()

    def fail(conn: psycopg.Connection[Any], i: int) -> Any:
        return conn.execute("SELECT replayed FROM wallet.fail_purchase(%s, 'p1', %s)",
                            (api.tenant, f"reason {i}")).fetchone()  # fmt: skip

    outcomes = run_parallel(wb_dsn, N, fail)
    assert_raced(outcomes)
    assert _replayed(outcomes) == {False: 1, True: N - 1}
    assert api.entries() == entries + 1
    assert api.call("wallet.balance", "alice")["balance"] == 1000


def test_mixed_traffic_on_two_wallets_never_deadlocks(api: Api, wb_dsn: str) -> None:
    api.call("wallet.open", "bob", "EUR")
    api.call("wallet.topup", "alice", 500, "ta")
    api.call("wallet.topup", "bob", 500, "tb")

    def act(conn: psycopg.Connection[Any], i: int) -> Any:
        user = ("alice", "bob")[i % 2]
        for k in range(5):
            ref = f"{user}-{i}-{k}"
            t = api.tenant
            conn.execute("SELECT * FROM wallet.purchase(%s, %s, 40, %s)", (t, user, ref))
            conn.execute("SELECT * FROM wallet.topup(%s, %s, 10, %s)", (t, user, ref + "t"))
            if k % 2:
                conn.execute("SELECT * FROM wallet.fail_purchase(%s, %s)", (t, ref))
        return None

    outcomes = run_parallel(wb_dsn, N, act)
    assert_raced(outcomes)
    # Funds may run out (PB001); a deadlock or serialization failure never surfaces.
    assert set(sqlstates(outcomes)) <= {"ok", "PB001"}
    total = sum(api.call("wallet.balance", u)["balance"] for u in ("alice", "bob"))
    revenue = api.account_balance("pgb:wallet-revenue:EUR")
    funding = api.account_balance("pgb:wallet-funding:EUR")
    assert total + revenue + funding == 0
    assert min(api.call("wallet.balance", u)["balance"] for u in ("alice", "bob")) >= 0
