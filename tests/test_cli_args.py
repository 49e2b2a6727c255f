"""The CLI as a newcomer meets it: bad numbers refused, a mistyped tenant not called
consistent, hints for an unmigrated database and for the wrong role, the DSN forms the docs
show, defaults in --help, tables that survive a pipe, and where every command worked."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgbalance.cli import main as cli_main


def _exit_code(argv: list[str]) -> int | str | None:
    with pytest.raises(SystemExit) as exit_info:
        cli_main(argv)
    return exit_info.value.code


@pytest.mark.parametrize(
    "argv",
    [["run", "--threads", "-1"], ["run", "--ops", "-3"], ["run", "--ops", "0"],
     ["run", "--accounts", "x"], ["run", "--incident-workers", "-1"],
     ["stress", "--workers", "0"]],
)  # fmt: skip
def test_nonsense_numbers_are_usage_errors(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_code(argv) == 2
    assert "argument --" in capsys.readouterr().err


def test_help_shows_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 8)" in text and "(default: 150)" in text
    assert "(default: None)" not in text


def test_verify_an_unknown_tenant_is_not_consistent(
    dsn: str, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["verify", "--dsn", dsn, "--tenant", tenant]) == 1
    out = capsys.readouterr()
    assert "ledger consistent" not in out.out
    assert f"unknown tenant {tenant!r}" in out.err


def test_verify_names_database_and_server(
    db: psycopg.Connection[Any], dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["verify", "--dsn", dsn]) == 0
    err = capsys.readouterr().err
    assert f"database {db.info.dbname} on {db.info.host}:{db.info.port}" in err


def test_unmigrated_database_hints_at_migrate(
    empty_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["verify", "--dsn", empty_dsn]) == 2
    err = capsys.readouterr().err
    assert "3F000" in err and "run `pgbalance migrate`" in err


def test_verify_as_the_app_role_names_the_auditor_role(
    dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    as_app = make_conninfo(dsn, options="-c role=pgbalance_app")
    assert cli_main(["verify", "--dsn", as_app]) == 2
    err = capsys.readouterr().err
    assert "42501" in err and "pgbalance_auditor" in err


def test_sqlalchemy_style_url_is_accepted(
    db: psycopg.Connection[Any], dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    params = conninfo_to_dict(dsn)
    password = f":{params['password']}" if params.get("password") else ""
    url = (f"postgresql+psycopg://{params['user']}{password}@{params['host']}:{params['port']}"
           f"/{params['dbname']}")  # fmt: skip
    assert cli_main(["verify", "--dsn", url]) == 0
    assert "ledger consistent" in capsys.readouterr().out


def test_violation_rows_stay_whole_when_piped(
    db: psycopg.Connection[Any], dsn: str, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db.execute("SELECT * FROM ledger.open_account(%s, 'a', 'EUR', NULL, NULL)", (tenant,))
    db.execute("SELECT * FROM ledger.open_account(%s, 'b', 'EUR')", (tenant,))
    db.execute("SELECT * FROM ledger.transfer(%s, 'k1', 'a', 'b', 500)", (tenant,))
    with db.transaction():
        db.execute("SET LOCAL session_replication_role = replica")
        db.execute("UPDATE ledger.account SET balance = balance + 1 "
                   "WHERE tenant_id = %s AND code = 'b'", (tenant,))  # fmt: skip
    assert cli_main(["verify", "--dsn", dsn, "--tenant", tenant]) == 1
    lines = capsys.readouterr().out.splitlines()
    # capsys is not a terminal: one violation, one line, every cell whole.
    row = [line for line in lines if "balance_mismatch" in line]
    assert len(row) == 1
    assert tenant in row[0] and "balance=501 postings=500" in row[0]


def test_verify_a_tenant_as_the_auditor_role(
    db: psycopg.Connection[Any], dsn: str, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The auditor may ask whether the tenant exists (ledger.get_tenant) and verify it."""
    db.execute("SELECT * FROM ledger.open_account(%s, 'a', 'EUR')", (tenant,))
    as_auditor = make_conninfo(dsn, options="-c role=pgbalance_auditor")
    assert cli_main(["verify", "--dsn", as_auditor, "--tenant", tenant]) == 0
    assert f"ledger consistent (tenant {tenant})" in capsys.readouterr().out
    assert cli_main(["verify", "--dsn", as_auditor, "--tenant", tenant + "-typo"]) == 1
