"""The commands end to end: `pgbalance run` (the live race, and its end check going red),
`pgbalance verify` on damage and `pgbalance docs --check`."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from rich.console import Console

from pgbalance.cli import main as cli_main
from pgbalance.harness import demo
from tests.helpers.barrier import assert_raced, run_parallel, sqlstates


@pytest.mark.concurrency
def test_demo_race_is_consistent(dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Through the command, as `make run` calls it (without the incidents table)."""
    argv = ["run", "--dsn", dsn, "--threads", "4", "--ops", "40", "--accounts", "5",
            "--seed", "7", "--incident-workers", "0"]  # fmt: skip
    assert cli_main(argv) == 0
    out = capsys.readouterr().out
    assert "ledger consistent" in out and "FAIL" not in out


def test_the_demo_check_goes_red(
    db: psycopg.Connection[Any], dsn: str, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's own end check: clean on an honest tally, red on a tally the server does not
    hold, on a worker that died and on a balance changed behind the trigger's back."""
    codes = ["acct-00", "acct-01"]
    demo._setup(db, tenant, codes)
    db.execute("SELECT * FROM ledger.transfer(%s, 'k1', 'acct-00', 'acct-01', 5)", (tenant,))
    honest = demo.Tally(total_ops=1)
    honest.record(demo.Op("k1", "acct-00", "acct-01", 5, "fresh"), "ok")
    console = Console(quiet=True)
    assert demo._check(dsn, tenant, codes, honest, [], console) == 0

    lying = demo.Tally(total_ops=1)
    lying.record(demo.Op("k1", "acct-00", "acct-01", 6, "fresh"), "ok")
    assert demo._check(dsn, tenant, codes, lying, [], Console(record=True)) == 1
    assert demo._check(dsn, tenant, codes, honest, [RuntimeError("x")], console) == 1

    with db.transaction():
        db.execute("SET LOCAL session_replication_role = replica")
        db.execute("UPDATE ledger.account SET balance = balance + 1"
                   " WHERE tenant_id = %s AND code = 'acct-01'", (tenant,))  # fmt: skip
    recorded = Console(record=True)
    assert demo._check(dsn, tenant, codes, honest, [], recorded) == 1
    text = recorded.export_text()
    assert "server balance" in text and "does not sum to zero" in text and "ledger.verify" in text


def test_verify_reports_damage(
    db: psycopg.Connection[Any], dsn: str, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
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


def test_docs_check_finds_the_generated_files_current(
    dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["docs", "--check", "--dsn", dsn]) == 0
    out = capsys.readouterr().out
    assert "generated files up to date" in out and "out of date" not in out


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


@pytest.mark.concurrency
def test_run_parallel_sees_who_waited(db: psycopg.Connection[Any], dsn: str) -> None:
    """Calls on one row, the first holding it a while: the others are seen waiting for it.
    Calls that share nothing: no wait, and assert_raced goes red."""
    db.execute("CREATE TABLE public.probe_row (n int)")
    db.execute("INSERT INTO public.probe_row VALUES (0)")

    def bump(conn: psycopg.Connection[Any], i: int) -> None:
        with conn.transaction():
            if i > 0:
                conn.execute("SELECT pg_sleep(0.1)")  # let call 0 take the row first
            conn.execute("UPDATE public.probe_row SET n = n + 1")
            if i == 0:
                conn.execute("SELECT pg_sleep(0.4)")

    outcomes = run_parallel(dsn, 3, bump)
    assert sqlstates(outcomes) == {"ok": 3}
    assert outcomes.waiters == {1, 2}
    assert any(w.blockers == {0} for w in outcomes.waits)
    assert_raced(outcomes)

    alone = run_parallel(dsn, 3, lambda conn, i: conn.execute("SELECT pg_sleep(0.05)"))
    assert alone.waiters == set()
    with pytest.raises(AssertionError, match="ran one at a time"):
        assert_raced(alone)
