"""The owner (docs/operations.md, "Roles"): migrated by a superuser, pgbalance's tables and
functions belong to the NOLOGIN role pgbalance_owner, and event triggers refuse DDL on
pgbalance objects by any session user that is not a superuser, so no login that may act as
the owner can switch the guard triggers off, drop them, or replace a function. verify sees
postings dated before their entry or account existed (written around the kernel)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgbalance.migrate import KERNEL_SCHEMAS
from tests.helpers.sqlstate import detail, raises
from tests.kernel.support import Ledger, new_key


@pytest.fixture
def owner_login(db: psycopg.Connection[Any], dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection as a LOGIN member of pgbalance_owner, acting as pgbalance_owner."""
    role = f"pgb_owner_test_{uuid.uuid4().hex[:10]}"
    db.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE pgbalance_owner").format(sql.Identifier(role)))
    try:
        with psycopg.connect(psycopg.conninfo.make_conninfo(dsn, user=role),
                             autocommit=True) as conn:  # fmt: skip
            conn.execute("SET ROLE pgbalance_owner")
            yield conn
    finally:
        db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_objects_are_owned_by_a_nologin_role(db: psycopg.Connection[Any]) -> None:
    assert db.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'pgbalance_owner'"
                      ).fetchone() == (False,)  # fmt: skip
    owners = db.execute(
        "SELECT c.relowner::regrole::text, count(*) FROM pg_class AS c"
        " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'S', 'i') GROUP BY 1",
        (list(KERNEL_SCHEMAS),),
    ).fetchall()
    assert [o for o, _n in owners] == ["pgbalance_owner"]
    functions = db.execute(
        "SELECT p.oid::regprocedure::text, p.proowner::regrole::text FROM pg_proc AS p"
        " JOIN pg_namespace AS n ON n.oid = p.pronamespace WHERE n.nspname = ANY(%s)",
        (list(KERNEL_SCHEMAS),),
    ).fetchall()
    assert len(functions) > 40
    # The DDL guard and the schemas stay the migrating superuser's: the owner can neither
    # replace the guard nor drop a schema with everything in it.
    assert {f: o for f, o in functions if o != "pgbalance_owner"} == {
        "ledger._guard_ddl()": "postgres"}  # fmt: skip
    schema_owners = db.execute("SELECT DISTINCT nspowner::regrole::text FROM pg_namespace"
                               " WHERE nspname = ANY(%s)", (list(KERNEL_SCHEMAS),)).fetchall()
    assert schema_owners == [("postgres",)]
    # The API runs with the owner's rights.
    definer = db.execute("SELECT DISTINCT p.proowner::regrole::text FROM pg_proc AS p"
                         " WHERE p.prosecdef AND p.pronamespace = 'ledger'::regnamespace"
                         ).fetchall()  # fmt: skip
    assert definer == [("pgbalance_owner",)]


OWNER_DDL = [
    "ALTER TABLE ledger.account DISABLE TRIGGER guard_account_update",
    "ALTER TABLE ledger.posting DISABLE TRIGGER ALL",
    "ALTER TABLE ledger.account ENABLE REPLICA TRIGGER guard_account_update",
    "DROP TRIGGER guard_account_update ON ledger.account",
    "ALTER TABLE ledger.account DROP CONSTRAINT account_floor",
    "CREATE OR REPLACE FUNCTION ledger._raise(p_code text, p_message text,"
    " p_detail text DEFAULT NULL, p_hint text DEFAULT NULL) RETURNS void LANGUAGE sql AS 'SELECT'",
    "DROP TABLE ledger.posting",
]


def trigger_states(db: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in db.execute(
        "SELECT tgrelid::regclass::text || '.' || tgname, tgenabled::text FROM pg_trigger"
        " WHERE NOT tgisinternal AND tgrelid::regclass::text LIKE 'ledger.%' ORDER BY 1"
    ).fetchall()]  # fmt: skip


@pytest.mark.parametrize("statement", OWNER_DDL)
def test_the_owner_cannot_switch_the_guards_off(
    db: psycopg.Connection[Any], owner_login: psycopg.Connection[Any], statement: str
) -> None:
    before = trigger_states(db)
    assert before and all(state == "O" for _t, state in before)
    with raises("42501") as info:  # the guard, or PostgreSQL's own privilege check
        owner_login.execute(statement)
    if "TRIGGER ALL" not in statement and "FUNCTION" not in statement:
        assert detail(info)["role"].startswith("pgb_owner_test_")  # the guard said no
    assert trigger_states(db) == before


def test_the_owner_still_cannot_change_a_balance(
    db: psycopg.Connection[Any], owner_login: psycopg.Connection[Any], tenant: str
) -> None:
    book = Ledger(db, tenant)
    book.open("a")
    book.fund("a", 10)
    with raises("PB009"):
        owner_login.execute("UPDATE ledger.account SET balance = balance + 1 WHERE tenant_id = %s",
                            (tenant,))  # fmt: skip
    assert book.verify() == []


def test_a_superuser_keeps_the_repair_door(db: psycopg.Connection[Any]) -> None:
    with db.transaction(force_rollback=True):
        db.execute("ALTER TABLE ledger.account DISABLE TRIGGER guard_account_update")
        assert ("ledger.account.guard_account_update", "D") in trigger_states(db)
    assert ("ledger.account.guard_account_update", "O") in trigger_states(db)


OWNER_GRANTS = [
    "GRANT INSERT, UPDATE ON ledger.posting, ledger.account TO pgbalance_app",
    "GRANT DELETE ON ledger.tenant_grant TO pgbalance_app",
    "GRANT UPDATE (balance) ON ledger.account TO pgbalance_app",
    "GRANT ALL ON ALL TABLES IN SCHEMA wallet TO PUBLIC",
    "REVOKE EXECUTE ON FUNCTION ledger.verify(text) FROM pgbalance_auditor",
]


@pytest.mark.parametrize("statement", OWNER_GRANTS)
def test_the_owner_cannot_grant_around_the_guards(
    db: psycopg.Connection[Any], owner_login: psycopg.Connection[Any], statement: str
) -> None:
    """GRANT/REVOKE name no object to the event trigger: the privileges of the five schemas
    are compared before and after, and any change by a non-superuser is refused."""
    privileges = ("SELECT array_agg(c.oid::regclass::text || coalesce(c.relacl::text, '')"
                  " ORDER BY 1) FROM pg_class AS c WHERE c.relnamespace::regnamespace::text"
                  " = ANY(%s)")  # fmt: skip
    before = db.execute(privileges, (list(KERNEL_SCHEMAS),)).fetchone()
    with raises("42501") as info:
        owner_login.execute(statement)
    assert detail(info)["role"].startswith("pgb_owner_test_")  # the guard said no
    assert db.execute(privileges, (list(KERNEL_SCHEMAS),)).fetchone() == before


def test_grants_elsewhere_and_no_op_grants_pass(owner_login: psycopg.Connection[Any]) -> None:
    owner_login.execute("CREATE TEMP TABLE scratch (a int)")
    owner_login.execute("GRANT SELECT ON scratch TO pgbalance_app")
    owner_login.execute("REVOKE SELECT ON scratch FROM pgbalance_app")
    owner_login.execute("GRANT SELECT ON ledger.account TO pgbalance_owner")  # holds it already


def test_ddl_elsewhere_is_not_the_guards_business(owner_login: psycopg.Connection[Any]) -> None:
    owner_login.execute("CREATE TEMP TABLE scratch (a int)")
    owner_login.execute("DROP TABLE scratch")


def test_verify_sees_postings_written_around_the_kernel(
    db: psycopg.Connection[Any], tenant: str
) -> None:
    """A balanced entry inserted directly (the superuser's replica-mode door, or an owner where
    the guard is not installed) with backdated postings: verify names the entry and both
    accounts. (A forged entry dated like a real one is not detectable: see operations.md.)"""
    book = Ledger(db, tenant)
    book.open("a")
    book.fund("a", 100)
    world = book.world()
    book.transfer(new_key(), "a", world, 1)
    assert book.verify() == []
    with db.transaction():
        db.execute("SET LOCAL session_replication_role = replica")
        entry = db.execute(
            "INSERT INTO ledger.entry (tenant_id, idempotency_key, fingerprint, status, amount)"
            " VALUES (%s, 'forged', gen_random_uuid(), 'posted', 5) RETURNING entry_id", (tenant,)
        ).fetchone()
        assert entry is not None
        db.execute(
            "INSERT INTO ledger.posting (tenant_id, entry_id, posting_no, account_id, kind, amount,"
            " posted_at) SELECT %s, %s, row_number() OVER (), a.account_id, 'B', x.amount,"
            " '2001-01-01' FROM ledger.account AS a JOIN (VALUES ('a', -5), (%s, 5)) AS x(code,"
            " amount) ON a.code = x.code WHERE a.tenant_id = %s", (tenant, entry[0], world, tenant)
        )  # fmt: skip
        db.execute("UPDATE ledger.account SET balance = balance + CASE code WHEN 'a' THEN -5"
                   " ELSE 5 END WHERE tenant_id = %s AND code IN ('a', %s)", (tenant, world))
    found = {(r["check_name"], r["subject"]) for r in book.verify()}
    assert found == {("posting_before_entry", str(entry[0])), ("posting_before_account", "a"),
                     ("posting_before_account", world)}  # fmt: skip
