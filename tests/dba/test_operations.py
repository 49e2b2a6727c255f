"""docs/operations.md, exercised: install as a non-superuser owner, the roles' rights, the
backup that restores into a working database (seals included), the cron-facing CLI commands
(expire-holds, seal, verify), and history reads on a read-only replica."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgbalance import db as pgdb
from pgbalance import docgen
from pgbalance.cli import main as cli_main
from pgbalance.migrate import migrate
from tests.dba._support import YOYO_TABLES, kernel_dump, ledger_rows, put_ledger_data, verify_rows
from tests.helpers.server import server_dsn


@pytest.fixture
def owner_install() -> Iterator[tuple[str, str]]:
    """(owner role, database) created as operations.md says; both dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    owner, database = f"pgb_owner_{suffix}", f"pgbalance_ops_{suffix}"
    admin = server_dsn("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(owner)))
        for role in ("pgbalance_app", "pgbalance_auditor", "pgbalance_owner"):  # made by migrate
            # Another session's migrate may create them at the same moment: that is fine.
            with contextlib.suppress(psycopg.errors.DuplicateObject,
                                     psycopg.errors.UniqueViolation):  # fmt: skip
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(database), sql.Identifier(owner)))  # fmt: skip
    try:
        yield owner, database
    finally:
        pgdb.drop_database(admin, database)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(owner)))


def _as(dsn: str, user: str) -> str:
    return psycopg.conninfo.make_conninfo(dsn, user=user)


def test_install_as_owner_and_the_roles_rights(dsn: str, owner_install: tuple[str, str],
                                               tenant: str) -> None:  # fmt: skip
    owner, database = owner_install
    owner_dsn = _as(server_dsn(database), owner)
    migrate(owner_dsn)
    assert kernel_dump(owner_dsn) == kernel_dump(dsn), "an owner install differs from a fresh one"

    suffix = uuid.uuid4().hex[:8]
    app, auditor = f"pgb_app_{suffix}", f"pgb_audit_{suffix}"
    admin = server_dsn("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE pgbalance_app").format(
            sql.Identifier(app)))  # fmt: skip
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE pgbalance_auditor").format(
            sql.Identifier(auditor)))  # fmt: skip
    try:
        with psycopg.connect(_as(owner_dsn, app), autocommit=True) as conn:
            put_ledger_data(conn, tenant)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT count(*) FROM ledger.account")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT * FROM ledger.verify()")
        with psycopg.connect(_as(owner_dsn, auditor), autocommit=True) as conn:
            assert verify_rows(conn) == []
            assert ledger_rows(conn)["ledger.account"]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT * FROM ledger.transfer(%s, 'k', 'bank', 'alice', 1)",
                             (tenant,))  # fmt: skip
        with psycopg.connect(owner_dsn, autocommit=True) as conn:
            # The owner cannot switch the guards off: that door is a superuser's only.
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SET session_replication_role = replica")
            with pytest.raises(psycopg.Error) as caught:
                conn.execute("UPDATE ledger.account SET balance = balance + 1 "
                             "WHERE tenant_id = %s", (tenant,))  # fmt: skip
            assert caught.value.sqlstate == "PB009"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for role in (app, auditor):
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _run(args: list[str], dsn: str) -> None:
    args = [args[0], f"--dbname={docgen.client_conninfo(dsn)}", *args[1:]]
    out = subprocess.run(args, env=docgen.client_env(dsn), capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    assert out.returncode == 0, f"{args[0]} failed: {out.stderr}"


def test_backup_of_the_documented_objects_restores_a_working_database(
    empty_dsn: str, tenant: str, tmp_path: Any
) -> None:
    migrate(empty_dsn)
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        put_ledger_data(conn, tenant)
        digest = conn.execute("SELECT digest FROM ledger.seal(%s)", (tenant,)).fetchone()
        before = ledger_rows(conn)
    # The two dumps of operations.md: the pgbalance schemas, and yoyo's tables (pg_dump
    # ignores -n when -t is given, so one command cannot take both).
    pg_dump = docgen.pg_tool("pg_dump", empty_dsn)
    schemas, yoyo = tmp_path / "pgbalance.dump", tmp_path / "pgbalance-yoyo.dump"
    _run([pg_dump, "-Fc", "-f", str(schemas),
          *(f"--schema={s}" for s in ("ledger", "wallet", "booking", "fees", "tuition"))],
         empty_dsn)  # fmt: skip
    _run([pg_dump, "-Fc", "-f", str(yoyo), *(f"--table=public.{t}" for t in YOYO_TABLES)],
         empty_dsn)  # fmt: skip

    with docgen.scratch_database(empty_dsn, prefix="pgbalance_restore") as restored:
        for dump in (schemas, yoyo):
            _run([docgen.pg_tool("pg_restore", restored), "--no-owner", "--exit-on-error",
                  str(dump)], restored)  # fmt: skip
        again = migrate(restored)
        assert again.applied == [], "the restored database lost yoyo's bookkeeping"
        assert kernel_dump(restored) == kernel_dump(empty_dsn)
        with psycopg.connect(restored, autocommit=True) as conn:
            assert ledger_rows(conn) == before
            assert verify_rows(conn) == []
            # Sealed history came back exactly: the digest kept before the dump reproduces.
            assert digest is not None
            assert conn.execute("SELECT * FROM ledger.verify_seal(%s, %s)",
                                (tenant, digest[0])).fetchall() == []  # fmt: skip
            assert conn.execute("SELECT * FROM ledger.verify_full()").fetchall() == []
            # Identity sequences came along: new movements get new ids and work.
            row = conn.execute("SELECT status FROM ledger.transfer(%s, 'after-restore', "
                               "'bank', 'alice', 5)", (tenant,)).fetchone()  # fmt: skip
            assert row == ("posted",)
            assert verify_rows(conn) == []


def test_expire_holds_command(dsn: str, tenant: str, capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        put_ledger_data(conn, tenant)
        row = conn.execute(
            "SELECT entry_id FROM ledger.hold(%s, 'expired', 'alice', 'bob', 50, "
            "p_expires_at => now() - interval '1 hour')", (tenant,)
        ).fetchone()  # fmt: skip
        assert row is not None
        expired = row[0]

    assert cli_main(["expire-holds", "--dsn", dsn, "--tenant", tenant]) == 0
    assert capsys.readouterr().out.strip() == f"1 expired holds voided (tenant {tenant})"
    assert cli_main(["expire-holds", "--dsn", dsn]) == 0
    out = capsys.readouterr().out.strip()
    assert out == "0 expired holds voided (every tenant this role may reach)"
    # An unknown tenant is an error, as in `pgbalance verify`: a typo is not "nothing to do".
    assert cli_main(["expire-holds", "--dsn", dsn, "--tenant", f"{tenant}-nosuch"]) == 1
    assert "unknown tenant" in capsys.readouterr().err

    with psycopg.connect(dsn, autocommit=True) as conn:
        status = conn.execute("SELECT status FROM ledger.get_entry(%s, %s)",
                              (tenant, expired)).fetchone()  # fmt: skip
        assert status == ("voided",)
        assert verify_rows(conn) == []


def test_seal_and_verify_commands(
    dsn: str, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """operations.md's periodic jobs: `pgbalance seal` prints each digest; `verify` after a
    seal, `verify --full` and `verify --digest` pass on an intact ledger and fail (exit 1)
    once sealed history is changed behind the guards' back."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        put_ledger_data(conn, tenant)
    assert cli_main(["seal", "--dsn", dsn, "--tenant", tenant]) == 0
    line = capsys.readouterr().out.strip()
    fields = dict(part.split("=", 1) for part in line.split())
    assert (fields["tenant"], fields["seal"], fields["postings"]) == (tenant, "1", "19")
    digest = fields["digest"]
    for args in ([], ["--full"], ["--tenant", tenant, "--digest", digest]):
        assert cli_main(["verify", "--dsn", dsn, *args]) == 0, args
    assert cli_main(["verify", "--dsn", dsn, "--digest", digest]) == 2  # needs --tenant
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE ledger.posting SET amount = amount + 1"
                     " WHERE tenant_id = %s AND amount = 1200", (tenant,))  # fmt: skip
    assert cli_main(["verify", "--dsn", dsn]) == 0  # reads only what came after the seal
    assert cli_main(["verify", "--dsn", dsn, "--full"]) == 1
    assert cli_main(["verify", "--dsn", dsn, "--tenant", tenant, "--digest", digest]) == 1


def test_history_reads_work_on_a_read_only_replica(dsn: str, tenant: str) -> None:
    """operations.md: statements, balance_at and every verify run on a hot standby (what a
    READ ONLY transaction allows); seal writes, so it runs on the primary."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        put_ledger_data(conn, tenant)
        row = conn.execute("SELECT digest FROM ledger.seal(%s)", (tenant,)).fetchone()
        assert row is not None
        with conn.transaction():
            conn.execute("SET TRANSACTION READ ONLY")
            page = conn.execute(
                "SELECT cursor FROM ledger.statement_page(%s, 'alice', NULL, 2)", (tenant,)
            ).fetchall()
            assert len(page) == 2
            assert conn.execute("SELECT count(*) FROM ledger.statement_page(%s, 'alice', %s)",
                                (tenant, page[-1][0])).fetchone() != (0,)  # fmt: skip
            assert conn.execute("SELECT ledger.balance_at(%s, 'bob', 'infinity')",
                                (tenant,)).fetchone() != (None,)  # fmt: skip
            for call in ("ledger.verify()", "ledger.verify_full()"):
                assert conn.execute(f"SELECT * FROM {call}").fetchall() == []
            assert conn.execute("SELECT * FROM ledger.verify_seal(%s, %s)",
                                (tenant, row[0])).fetchall() == []  # fmt: skip
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction), conn.transaction():
            conn.execute("SET TRANSACTION READ ONLY")
            conn.execute("SELECT * FROM ledger.seal(%s)", (tenant,))


def test_history_indexes_built_concurrently_beforehand(empty_dsn: str, tenant: str) -> None:
    """operations.md, upgrading a large ledger: indexes of 0009_seal built CONCURRENTLY
    before the migration are kept as they are (the migration skips them)."""
    from yoyo import get_backend, read_migrations

    from pgbalance import paths
    from pgbalance.migrate import yoyo_url

    migrate(empty_dsn)
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        put_ledger_data(conn, tenant)
    backend = get_backend(yoyo_url(empty_dsn))
    (seal,) = [m for m in read_migrations(str(paths.migrations_dir())) if m.id == "0009_seal"]
    try:
        with backend.lock():
            backend.rollback_one(seal)
    finally:
        backend.connection.close()
    names = ("posting_account_time_idx", "posting_time_brin", "entry_reverses_idx")
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        conn.execute("CREATE INDEX CONCURRENTLY posting_account_time_idx"
                     " ON ledger.posting (tenant_id, account_id, posted_at)")  # fmt: skip
        conn.execute("CREATE INDEX CONCURRENTLY posting_time_brin"
                     " ON ledger.posting USING brin (posted_at)")  # fmt: skip
        conn.execute("CREATE INDEX CONCURRENTLY entry_reverses_idx"
                     " ON ledger.entry (tenant_id, reverses_entry_id)"
                     " WHERE reverses_entry_id IS NOT NULL")  # fmt: skip
        before = conn.execute("SELECT relname, oid FROM pg_class WHERE relname = ANY(%s)",
                              (list(names),)).fetchall()  # fmt: skip
    assert migrate(empty_dsn).applied == ["0009_seal"]
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        after = conn.execute("SELECT relname, oid FROM pg_class WHERE relname = ANY(%s)",
                             (list(names),)).fetchall()  # fmt: skip
        assert sorted(after) == sorted(before) and len(after) == 3
        assert conn.execute("SELECT * FROM ledger.seal(%s)", (tenant,)).fetchall()
        assert verify_rows(conn) == []
