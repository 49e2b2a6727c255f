"""The commands end to end: `pgbalance run` (the live race) and `pgbalance verify` on damage."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from pgbalance import demo
from pgbalance.cli import main as cli_main
from tests.helpers.barrier import run_parallel, sqlstates


def _kernel_or_skip(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute("SELECT to_regprocedure('ledger.verify(text)') IS NOT NULL").fetchone()
    if not (row and row[0]):
        pytest.skip("the ledger kernel is not deployed yet")


@pytest.mark.concurrency
def test_demo_race_is_consistent(db: psycopg.Connection[Any], dsn: str) -> None:
    _kernel_or_skip(db)
    assert demo.main(dsn, threads=4, ops=40, accounts=5, seed=7, incident_workers=0) == 0


def test_verify_reports_damage(
    db: psycopg.Connection[Any], dsn: str, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _kernel_or_skip(db)
    db.execute("SELECT * FROM ledger.open_account(%s, 'a', 'EUR', NULL, NULL)", (tenant,))
    db.execute("SELECT * FROM ledger.open_account(%s, 'b', 'EUR')", (tenant,))
    db.execute("SELECT * FROM ledger.transfer(%s, 'k1', 'a', 'b', 500)", (tenant,))
    assert cli_main(["verify", "--dsn", dsn, "--tenant", tenant]) == 0
    capsys.readouterr()

    # The superuser's repair door bypasses the guards; verify must see what went through it.
    with db.transaction():
        db.execute("SET LOCAL session_replication_role = replica")
        db.execute(
            "UPDATE ledger.account SET balance = balance + 1 WHERE tenant_id = %s AND code = 'b'",
            (tenant,),
        )
    assert cli_main(["verify", "--dsn", dsn, "--tenant", tenant]) == 1
    out = capsys.readouterr().out
    assert "violations" in out
    assert tenant[:10] in out


@pytest.mark.concurrency
def test_run_parallel_releases_all_and_captures_errors(dsn: str) -> None:
    def fn(conn: psycopg.Connection[Any], i: int) -> int:
        if i % 2:
            conn.execute("SELECT 1/0")
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        return int(row[0])

    outcomes = run_parallel(dsn, 4, fn)
    assert [o.index for o in outcomes] == [0, 1, 2, 3]
    assert sqlstates(outcomes) == {"ok": 2, "22012": 2}
    pids = [o.value for o in outcomes if o.ok]
    assert len(set(pids)) == 2  # one connection per thread
