"""The fees incident replayed step by step in two sessions: a fee's journal entry and its
three wallet updates ran outside one transaction and drifted. Against the unprotected
pattern the timeline must show the drift (proof the test can fail); against pgbalance the
second deduction waits for the first (pg_blocking_pids), then is refused with nothing
written, and the books agree."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from pgbalance.harness import naive
from pgbalance.harness.incidents import INCIDENTS
from pgbalance.harness.incidents.fees import (
    CARRIER,
    CARRIER_FEE,
    NAIVE_SQL,
    SHIPPER,
    SHIPPER_FEE,
    FeesSplitWrites,
    params,
)
from tests.helpers.scheduler import Scheduler
from tests.workflows.fees_tuition_support import Fees, wf_conn, wf_dsn

__all__ = ["wf_conn", "wf_dsn"]  # module-scoped database fixtures

NAIVE = NAIVE_SQL
FEE = SHIPPER_FEE + CARRIER_FEE
# Two loads, and a carrier whose wallet pays the fee of one of them.
P = {"A": params(2, 0), "B": params(2, 1)}
assert P["A"]["carrier_balance"] == CARRIER_FEE


def test_unprotected_timeline_drifts(wf_dsn: str) -> None:
    with naive.installed(wf_dsn, "fees", NAIVE, P["A"], ("schema",)) as naive_dsn:
        with Scheduler(naive_dsn) as sched:
            a, b = sched.session("A"), sched.session("B")
            # Both apps check the balances before either writes: both loads look payable.
            assert a.step(NAIVE["check"], P["A"]).value is True
            assert b.step(NAIVE["check"], P["B"]).value is True
            for name in ("journal", "debit_shipper", "debit_carrier", "credit_platform"):
                assert a.step(NAIVE[name], P["A"]).status == "done"
            assert b.step(NAIVE["journal"], P["B"]).status == "done"
            assert b.step(NAIVE["debit_shipper"], P["B"]).status == "done"
            failed = b.step(NAIVE["debit_carrier"], P["B"])  # the carrier's wallet is empty now
            assert (failed.status, failed.sqlstate) == ("error", "23514")
            journaled, revenue, debited = a.step(NAIVE["drift"], P["A"]).rows[0]  # type: ignore[index]
    # The drift: the journal claims two fees, the platform got one, and B's shipper debit
    # left the wallets without arriving anywhere.
    assert (journaled, revenue, debited) == (2 * FEE, FEE, FEE + SHIPPER_FEE)


def test_pgbalance_timeline_deducts_once(wf_conn: psycopg.Connection[Any], wf_dsn: str,
                                         tenant: str) -> None:  # fmt: skip
    fees = Fees(wf_conn, tenant)
    fees.open_wallet(SHIPPER, topup=P["A"]["shipper_balance"])
    fees.open_wallet(CARRIER, topup=P["A"]["carrier_balance"])
    for load in ("load-0", "load-1"):
        fees.create(load, SHIPPER, CARRIER)
        fees.complete(load)
    deduct = "SELECT fee_status FROM fees.deduct_service_fee(%s, %s, %s, %s)"
    with Scheduler(wf_dsn) as sched:
        a, b = sched.session("A"), sched.session("B")
        assert a.step("BEGIN").status == "done"
        assert a.step(deduct, (tenant, "load-0", SHIPPER_FEE, CARRIER_FEE)).value == "DEDUCTED"
        # B deducts the other load while A's transaction is open: it waits on A's wallets.
        assert b.step(deduct, (tenant, "load-1", SHIPPER_FEE, CARRIER_FEE)).status == "blocked"
        assert a.pid in a.step("SELECT pg_blocking_pids(%s)", (b.pid,)).value
        assert a.step("COMMIT").status == "done"
        refused = b.finish()
        assert (refused.status, refused.sqlstate) == ("error", "PB001")
    assert fees.get("load-0")["fee_status"] == "DEDUCTED"
    assert fees.get("load-1")["fee_status"] == "NONE"
    assert fees.revenue() == FEE
    debited = (P["A"]["shipper_balance"] - fees.wallet(SHIPPER)
               + P["A"]["carrier_balance"] - fees.wallet(CARRIER))  # fmt: skip
    assert debited == FEE
    assert fees.verify() == []


@pytest.mark.concurrency
def test_incident_replay_reports_drift_only_for_the_unprotected_pattern(wf_dsn: str) -> None:
    incident = FeesSplitWrites()
    assert any(isinstance(i, FeesSplitWrites) for i in INCIDENTS)
    naive = incident.run_unprotected(wf_dsn, 6)
    assert naive.effects_applied == 6 and naive.expected_effects == 3
    assert naive.money_wrongly_moved > 0 and naive.anomalies > 0
    protected = incident.run_protected(wf_dsn, 6)
    assert (protected.effects_applied, protected.expected_effects) == (3, 3)
    assert protected.money_wrongly_moved == 0 and protected.verify_clean
    assert protected.anomalies == 0
