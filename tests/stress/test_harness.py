"""`pgbalance stress`, briefly: 8 workers x 5 s, clean and under each fault kind; --naive must
trip, per scenario, the checks its unprotected pattern breaks; a scenario whose functions
are missing does not run; the oracle must go red on damaged state and on a falsified
history (and each check on its own damage: test_damage.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from rich.console import Console

from pgbalance import db as pgdb
from pgbalance.cli import main
from pgbalance.harness.stress.model import Call, Conn, Op
from pgbalance.harness.stress.runner import StressConfig, StressError, run_stress
from pgbalance.harness.stress.workload import SCENARIO_NAMES

pytestmark = [pytest.mark.slow, pytest.mark.concurrency]

WORKERS, SECONDS = 8, 5.0
REPORT_KEYS = {"ops", "ok", "rejected", "indeterminate", "faults", "anomalies", "verify"}


def quiet() -> Console:
    return Console(quiet=True)


def config(dsn: str, **kwargs: Any) -> StressConfig:
    kwargs.setdefault("workers", WORKERS)
    kwargs.setdefault("seconds", SECONDS)
    kwargs.setdefault("seed", 7)
    return StressConfig(dsn=dsn, migrate=False, progress=False, **kwargs)


def test_mixed_through_the_cli_is_clean(dsn: str, tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    argv = ["stress", "--dsn", dsn, "--workers", str(WORKERS), "--seconds", str(SECONDS),
            "--seed", "1", "--json", str(path)]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(path.read_text())
    assert REPORT_KEYS <= set(report)
    assert report["anomalies"] == []
    assert report["verify"] == []
    assert report["ops"] > 0 and report["ok"] > 0
    assert sum(report["rejected"].values()) > 0  # overdrafts, races lost, ... were refused
    assert set(report["scenarios"]) == set(SCENARIO_NAMES) - {"mixed"}


def test_kill_fault_is_clean(dsn: str) -> None:
    report = run_stress(config(dsn, faults=frozenset({"kill"})), quiet())
    assert report.anomalies == []
    assert report.faults["kill"] > 0
    assert report.indeterminate > 0  # killed mid-call or before the next one
    assert report.unresolved == 0


@pytest.mark.embedded
def test_ambiguous_commits_are_resolved_by_key(
    own_cluster: pgdb.EmbeddedCluster, own_dsn: str
) -> None:
    report = run_stress(
        config(own_dsn, faults=frozenset({"ambiguous"}), cluster=own_cluster), quiet()
    )
    assert report.anomalies == []
    assert report.faults["ambiguous"] > 0
    # Commits cut off while waiting for the standby had happened: the retry replayed them.
    assert report.resolved.get("had taken effect", 0) > 0
    assert report.unresolved == 0
    with psycopg.connect(own_dsn) as conn:
        assert conn.execute("SHOW synchronous_standby_names").fetchone() == ("",)


@pytest.mark.embedded
def test_crash_fault_is_clean(own_cluster: pgdb.EmbeddedCluster, own_dsn: str) -> None:
    report = run_stress(config(own_dsn, faults=frozenset({"crash"}), cluster=own_cluster), quiet())
    assert report.anomalies == []
    assert report.faults["crash"] >= 1
    assert report.unresolved == 0
    assert own_cluster.is_running()


# What each scenario's unprotected pattern must trip (seen in every run of 8 workers x 3 s):
# duplicates by "SELECT, and INSERT if absent", lost updates by check-then-write, status
# flags apart from the money they guard.
NAIVE_TRIPS = {
    "transfers": {"one_entry_per_key", "exactly_once_transfer", "balances_match_history"},
    "wallet": {"one_tx_per_reference", "exactly_once_wallet", "fail_purchase_once",
               "one_refund_per_failed_purchase", "wallet_balances_match_history"},
    "booking": {"one_payment_per_ref", "exactly_once_payment", "applied_once", "booking_state"},
    "fees": {"one_load_per_id", "deduct_once", "refund_once", "fees_balances_match_history"},
    "tuition": {"exactly_once_payment", "approve_once", "reject_once", "one_pending_per_term",
                "term_never_overpaid"},
}  # fmt: skip


@pytest.mark.parametrize("scenario", sorted(NAIVE_TRIPS))
def test_naive_trips_what_its_pattern_must(dsn: str, tmp_path: Path, scenario: str) -> None:
    path = tmp_path / "naive.json"
    argv = ["stress", "--dsn", dsn, "--naive", "--scenario", scenario, "--workers", str(WORKERS),
            "--seconds", "3", "--seed", "3", "--json", str(path)]  # fmt: skip
    assert main(argv) == 1
    report = json.loads(path.read_text())
    assert report["naive"] is True and report["scenarios"] == [scenario]
    assert {a["scenario"] for a in report["anomalies"]} == {scenario}  # no "harness" among them
    tripped = {a["check"] for a in report["anomalies"]}
    assert NAIVE_TRIPS[scenario] <= tripped, sorted(tripped)
    with psycopg.connect(dsn) as conn:
        left = conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'naive%'")
        assert left.fetchone() == (0,)  # the scratch schema is gone


def test_a_scenario_with_a_function_missing_does_not_run(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP FUNCTION booking.unapplied_payments(text, text)")
    for scenario in ("mixed", "booking"):
        with pytest.raises(StressError, match="booking.unapplied_payments missing"):
            run_stress(config(dsn, scenario=scenario), quiet())
    with psycopg.connect(dsn) as conn:  # refused before anything ran: no tenant set up
        assert conn.execute("SELECT count(*) FROM ledger.account").fetchone() == (0,)


def test_server_wide_faults_refuse_a_given_server(dsn: str) -> None:
    for kind in ("crash", "ambiguous"):
        assert main(["stress", "--dsn", dsn, "--faults", kind, "--seconds", "1"]) == 2
        with pytest.raises(StressError):
            run_stress(config(dsn, faults=frozenset({kind})), quiet())
    with psycopg.connect(dsn) as conn:  # nothing ran: no tenant was even set up
        assert conn.execute("SELECT count(*) FROM ledger.account").fetchone() == (0,)


def test_the_oracle_sees_damage_and_a_false_history(dsn: str) -> None:
    """The same run, then on purpose: a balance changed behind the trigger's back (the
    superuser's repair door), an acknowledgement the database never saw, and a rejected
    call presented as acknowledged."""

    def tamper(conn: Conn, tenant: str, ops: list[Op]) -> None:
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute(
                "UPDATE ledger.account SET balance = balance + 1"
                " WHERE tenant_id = %s AND code = 'tr-a0'",
                (tenant,),
            )
        ghost = Call("transfers", "transfer", "tr-ghost",
                     {"key": "tr-ghost", "src": "tr-a1", "dst": "tr-a2", "amount": 5},
                     frozenset())  # fmt: skip
        ops.append(Op(id=-1, worker=0, call=ghost, first="ok", outcome="ok",
                      rows=[{"entry_id": 1, "status": "posted", "replayed": False}]))  # fmt: skip
        refused = next(op for op in ops if op.call.kind == "transfer" and op.sqlstate == "PB001")
        refused.outcome, refused.sqlstate = "ok", None
        refused.rows = [{"entry_id": 1, "status": "posted", "replayed": False}]

    report = run_stress(
        config(dsn, workers=4, seconds=2.0, scenario="transfers", tamper=tamper), quiet()
    )
    checks = {a["check"] for a in report.anomalies}
    assert {"ledger.verify", "money_conserved", "balances_match_history"} <= checks
    assert "exactly_once_transfer" in checks
    subjects = {a["subject"] for a in report.anomalies if a["check"] == "exactly_once_transfer"}
    assert "tr-ghost" in subjects
    assert any(v["check_name"] == "balance_mismatch" for v in report.verify)
    assert report.exit_code == 1
