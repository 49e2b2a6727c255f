"""The wallet incident, replayed step by step: the app AND a trigger both deducted the same
purchase (and a client retry deducted it again).

The unprotected pattern (pgbalance/harness/naive/wallet.sql, with its trigger) runs in a
scratch schema and MUST show the double effect: that is the proof these tests can fail.
Against pgbalance the second session is shown blocked on the first (pg_blocking_pids),
then replayed or refused: one deduction only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from pgbalance.harness import naive
from pgbalance.harness.incidents import INCIDENTS
from pgbalance.harness.incidents import wallet as incident
from tests.helpers.scheduler import Scheduler
from tests.workflows.incident_support import blocked_by
from tests.workflows.wallet_booking_support import Api, raises, wb_conn, wb_dsn

__all__ = ["wb_conn", "wb_dsn"]  # module fixtures

NAIVE = incident.NAIVE_SQL
P = incident.PARAMS  # user, balance 100_00, amount 60_00, reference


@pytest.fixture
def naive_dsn(wb_dsn: str) -> Iterator[str]:
    with naive.installed(wb_dsn, "wallet", NAIVE, P, incident.NAIVE_DDL) as dsn:
        yield dsn


def test_unprotected_timeline_deducts_the_purchase_four_times(naive_dsn: str) -> None:
    with Scheduler(naive_dsn) as sched:
        a, b = sched.session("A"), sched.session("B")
        assert a.step(NAIVE["check"], P).value is True  # T1 A: balance 100 >= 60, new reference
        assert b.step(NAIVE["check"], P).value is True  # T2 B (the retry): the same
        assert a.step(NAIVE["record"], P).status == "done"  # T3 A: insert -> trigger deducts
        assert a.step(NAIVE["deduct"], P).status == "done"  # T4 A: the app deducts again
        after_a = a.step(NAIVE["balance"], P).value
        assert b.step(NAIVE["record"], P).status == "done"  # T5 B: trigger deducts
        assert b.step(NAIVE["deduct"], P).status == "done"  # T6 B: app deducts
        final = a.step(NAIVE["balance"], P).value
    # One request alone already deducted twice; the retry doubled it again.
    assert after_a == P["balance"] - 2 * P["amount"] < 0
    assert final == P["balance"] - 4 * P["amount"]


def test_pgbalance_blocks_the_retry_then_replays_it(
    wb_dsn: str, wb_conn: psycopg.Connection[Any], tenant: str
) -> None:
    api = Api(wb_conn, tenant)
    api.call("wallet.open", P["user"], "EUR")
    api.call("wallet.topup", P["user"], P["balance"], "t1")
    buy = "SELECT replayed, status FROM wallet.purchase(%s, %s, %s, %s)"
    args = (tenant, P["user"], P["amount"], P["reference"])
    with Scheduler(wb_dsn) as sched:
        a, b = sched.session("A"), sched.session("B")
        a.step("BEGIN")
        assert a.step(buy, args).rows == [(False, "completed")]  # T1 A: checks and deducts
        assert b.step(buy, args).status == "blocked"  # T2 B: waits for A's reference claim
        assert blocked_by(wb_conn, b.pid, a.pid)
        a.step("COMMIT")  # T3
        assert b.finish().rows == [(True, "completed")]  # T4 B: replayed, nothing deducted
        # The second authority: the app's own UPDATE of the balance is refused outright.
        no = b.step("UPDATE ledger.account SET balance = balance - %s"
                    " WHERE tenant_id = %s AND code = %s",
                    (P["amount"], tenant, f"pgb:wallet:{P['user']}"))  # fmt: skip
        assert no.sqlstate == "PB009"
    assert api.call("wallet.balance", P["user"])["balance"] == P["balance"] - P["amount"]
    assert len(api.call_rows("wallet.history", P["user"])) == 2
    assert api.verify() == []


def test_pgbalance_blocks_a_second_purchase_then_refuses_the_overdraft(
    wb_dsn: str, wb_conn: psycopg.Connection[Any], tenant: str
) -> None:
    api = Api(wb_conn, tenant)
    api.call("wallet.open", P["user"], "EUR")
    api.call("wallet.topup", P["user"], P["balance"], "t1")
    buy = "SELECT replayed FROM wallet.purchase(%s, %s, %s, %s)"
    with Scheduler(wb_dsn) as sched:
        a, b = sched.session("A"), sched.session("B")
        a.step("BEGIN")
        assert a.step(buy, (tenant, P["user"], P["amount"], "o1")).value is False
        assert b.step(buy, (tenant, P["user"], P["amount"], "o2")).status == "blocked"
        assert blocked_by(wb_conn, b.pid, a.pid)  # on the wallet's account row
        a.step("COMMIT")
        assert b.finish().sqlstate == "PB001"  # decided on the committed balance
    assert api.call("wallet.balance", P["user"])["balance"] == P["balance"] - P["amount"]
    assert api.verify() == []


def test_the_incident_runs_both_ways(wb_dsn: str) -> None:
    assert incident.WalletDoubleDeduction in {type(i) for i in INCIDENTS}
    replay = incident.WalletDoubleDeduction()
    naive = replay.run_unprotected(wb_dsn, 20)
    assert naive.effects_applied == 40 and naive.money_wrongly_moved > 0
    assert naive.anomalies > 0
    protected = replay.run_protected(wb_dsn, 20)
    assert (protected.effects_applied, protected.money_wrongly_moved) == (1, 0)
    assert protected.verify_clean and protected.anomalies == 0
    with psycopg.connect(wb_dsn) as conn:  # the scratch schema is gone
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'naive%%'"
                            ).fetchone() == (0,)  # fmt: skip


def test_a_forged_balance_change_is_seen_by_verify(
    wb_conn: psycopg.Connection[Any], tenant: str
) -> None:
    """The check that pgbalance deducted once is ledger.verify; shown able to fail: a
    superuser's bypass of the guard (a second authority) is reported."""
    api = Api(wb_conn, tenant)
    api.call("wallet.open", "alice", "EUR")
    api.call("wallet.topup", "alice", 100, "t1")
    with wb_conn.transaction():
        wb_conn.execute("SET LOCAL session_replication_role = replica")
        wb_conn.execute("UPDATE ledger.account SET balance = balance - 60 WHERE tenant_id = %s"
                        " AND code = 'pgb:wallet:alice'", (tenant,))  # fmt: skip
    assert api.verify() != []
    with raises("PB009"):
        wb_conn.execute("UPDATE ledger.account SET balance = balance + 60 WHERE tenant_id = %s"
                        " AND code = 'pgb:wallet:alice'", (tenant,))  # fmt: skip
