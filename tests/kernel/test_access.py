"""Tenant as an access boundary: ledger.grant_tenant / ledger.revoke_tenant, and the check
(ledger._check_access) that every public function of the five schemas makes first.

A role granted a tenant is tenant-bound: as the session_user it reaches only the tenants it
holds (42501, nothing written). A role never granted one reaches every tenant. The roles
these tests log in as are LOGIN members of pgbalance_app and pgbalance_auditor, made per test
and dropped afterwards; their grants live in the shared kernel database only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgbalance.migrate import KERNEL_SCHEMAS
from tests.kernel.support import Ledger, new_key, raises

# (role name, connection as that role)
Login = Callable[[], tuple[str, psycopg.Connection[Any]]]

_PUBLIC_FUNCTIONS = """
SELECT p.oid::regproc::text AS fn, p.pronargs AS nargs, p.provolatile AS volatility,
       p.prosrc AS src
  FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
 WHERE n.nspname = ANY(%s) AND p.proname !~ '^_'
 ORDER BY 1
"""
# Owner-only: pgbalance_app may not widen its own reach (tested below on their own).
OWNER_ONLY = ("ledger.grant_tenant", "ledger.revoke_tenant")


def public_functions(conn: psycopg.Connection[Any]) -> list[tuple[str, int, str, str]]:
    return [
        (r[0], r[1], r[2], r[3])
        for r in conn.execute(_PUBLIC_FUNCTIONS, (list(KERNEL_SCHEMAS),)).fetchall()
    ]


def call_with_nulls(conn: psycopg.Connection[Any], fn: str, nargs: int, tenant: str) -> None:
    """fn(tenant, NULL, ...): every argument but the tenant NULL."""
    marks = ", ".join(["%s"] + ["NULL"] * (nargs - 1))
    conn.execute(f"SELECT * FROM {fn}({marks})", (tenant,))


@pytest.fixture
def login(kernel_dsn: str, kernel_conn: psycopg.Connection[Any]) -> Iterator[Login]:
    """login() -> (role, connection): a fresh LOGIN role in pgbalance_app and
    pgbalance_auditor, unbound until a test grants it a tenant."""
    roles: list[str] = []
    conns: list[psycopg.Connection[Any]] = []

    def _login() -> tuple[str, psycopg.Connection[Any]]:
        role = f"pgb_access_test_{uuid.uuid4().hex[:10]}"
        kernel_conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN IN ROLE pgbalance_app, pgbalance_auditor").format(
                sql.Identifier(role)
            )
        )
        roles.append(role)
        params = conninfo_to_dict(kernel_dsn)
        params.update(user=role, password=None)
        conn = psycopg.connect(make_conninfo(**params), autocommit=True)
        conns.append(conn)
        return role, conn

    yield _login
    for conn in conns:
        conn.close()
    for role in roles:
        # Grants hold the role's OID with no catalog dependency: remove them with the role.
        kernel_conn.execute("DELETE FROM ledger.tenant_grant WHERE role_name = %s", (role,))
        kernel_conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def grant(ledger: Ledger, tenant: str, role: str) -> None:
    ledger.conn.execute("SELECT ledger.grant_tenant(%s, %s)", (tenant, role))


def revoke(ledger: Ledger, tenant: str, role: str) -> None:
    ledger.conn.execute("SELECT ledger.revoke_tenant(%s, %s)", (tenant, role))


def access_violations(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """Public functions whose first statement is not ledger._check_access(p_tenant, w),
    with w = true for writes (VOLATILE) and false for reads (STABLE)."""
    wrong = []
    for fn, _nargs, volatility, src in public_functions(conn):
        body = src.split("BEGIN", 1)[1] if "BEGIN" in src else src
        first = next((line.strip() for line in body.splitlines() if line.strip()), "")
        write = "true" if volatility == "v" else "false"
        if not first.endswith(f"ledger._check_access(p_tenant, {write});"):
            wrong.append((fn, first))
    return wrong


def test_every_public_function_checks_access_first(kernel_conn: psycopg.Connection[Any]) -> None:
    assert len(public_functions(kernel_conn)) >= 38
    assert access_violations(kernel_conn) == []


def test_the_first_statement_rule_catches_violations(db: psycopg.Connection[Any]) -> None:
    db.execute(
        "CREATE FUNCTION wallet.pgb_unchecked(p_tenant text) RETURNS int LANGUAGE plpgsql"
        " SECURITY DEFINER SET search_path = pg_catalog, pg_temp"
        " AS $$ BEGIN RETURN 1; END $$"
    )
    db.execute(
        "CREATE FUNCTION wallet.pgb_read_flag(p_tenant text) RETURNS int LANGUAGE plpgsql"
        " SECURITY DEFINER SET search_path = pg_catalog, pg_temp"
        " AS $$ BEGIN PERFORM ledger._check_access(p_tenant, false); RETURN 1; END $$"
    )
    assert {fn for fn, _first in access_violations(db)} == {
        "wallet.pgb_unchecked", "wallet.pgb_read_flag"}  # fmt: skip


def test_a_bound_role_is_refused_other_tenants_in_every_function(
    ledger: Ledger, login: Login, tenant: str
) -> None:
    role, conn = login()
    grant(ledger, f"{tenant}-mine", role)
    ledger.open("a")
    before = ledger.state()
    refused = []
    for fn, nargs, _volatility, _src in public_functions(ledger.conn):
        if fn in OWNER_ONLY:
            continue
        with raises("42501") as info:
            call_with_nulls(conn, fn, nargs, ledger.tenant)
        assert info.value.diag.message_detail == f"role={role} tenant={ledger.tenant}"
        refused.append(fn)
    assert len(refused) >= 36
    assert ledger.state() == before


def test_a_bound_role_works_in_its_tenant(ledger: Ledger, login: Login) -> None:
    role, conn = login()
    grant(ledger, ledger.tenant, role)
    app = Ledger(conn, ledger.tenant)
    app.open("a")
    app.open("w", "EUR", None, None)
    app.transfer(new_key(), "w", "a", 500)
    assert app.balance("a") == 500
    assert app.verify() == []
    conn.execute("SELECT * FROM wallet.open(%s, 'u1', 'EUR')", (ledger.tenant,))
    conn.execute("SELECT * FROM wallet.topup(%s, 'u1', 100, 'r1')", (ledger.tenant,))
    row = conn.execute("SELECT balance FROM wallet.balance(%s, 'u1')", (ledger.tenant,))
    assert row.fetchone() == (100,)


def test_an_unbound_role_reaches_every_tenant(ledger: Ledger, login: Login, tenant: str) -> None:
    _role, conn = login()
    for t in (ledger.tenant, f"{tenant}-other"):
        book = Ledger(conn, t)
        book.open("a")
        assert book.account("a")["balance"] == 0
        assert book.verify() == []


def test_expire_holds_null_acts_only_on_the_bound_roles_tenants(
    ledger: Ledger, login: Login, tenant: str
) -> None:
    other = Ledger(ledger.conn, f"{tenant}-other")
    holds = {}
    for book in (ledger, other):
        book.open("a")
        book.fund("a", 100)
        holds[book.tenant] = book.hold(new_key(), "a", book.world(), 40,
                                       book.now() - timedelta(seconds=1))["entry_id"]  # fmt: skip
    role, conn = login()
    grant(ledger, ledger.tenant, role)
    app = Ledger(conn, ledger.tenant)
    with raises("42501"):
        Ledger(conn, other.tenant).expire_holds()
    app.expire_holds(everywhere=True)
    assert ledger.entry(holds[ledger.tenant])["status"] == "voided"
    assert other.entry(holds[other.tenant])["status"] == "pending"
    assert other.expire_holds() == 1
    assert other.verify() == []


def test_revoking_the_last_tenant_leaves_the_role_bound_to_none(
    ledger: Ledger, login: Login, tenant: str
) -> None:
    ledger.open("a")
    ledger.fund("a", 10)
    ledger.hold(new_key(), "a", ledger.world(), 5, ledger.now() - timedelta(seconds=1))
    role, conn = login()
    grant(ledger, ledger.tenant, role)
    app = Ledger(conn, ledger.tenant)
    assert app.balance("a") == 10
    revoke(ledger, ledger.tenant, role)
    revoke(ledger, ledger.tenant, role)  # again: a no-op
    for t in (ledger.tenant, f"{tenant}-elsewhere"):
        with raises("42501"):
            Ledger(conn, t).account("a")
    assert app.expire_holds(everywhere=True) == 0
    assert app.verify(everywhere=True) == []
    grant(ledger, ledger.tenant, role)  # granting again restores it
    assert app.balance("a") == 10
    assert app.expire_holds() == 1


def test_verify_null_by_a_bound_role_covers_its_tenants(
    db: psycopg.Connection[Any], dsn: str, tenant: str
) -> None:
    mine, other = Ledger(db, f"{tenant}-mine"), Ledger(db, f"{tenant}-other")
    for book in (mine, other):
        book.open("a")
        book.fund("a", 10)
    # Damage both tenants through the superuser's repair door, then look as a bound auditor.
    with db.transaction():
        db.execute("SET LOCAL session_replication_role = replica")
        db.execute("UPDATE ledger.account SET balance = balance + 1 WHERE code = 'a'")
    role = f"pgb_access_test_{uuid.uuid4().hex[:10]}"
    db.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE pgbalance_auditor").format(
        sql.Identifier(role)))  # fmt: skip
    try:
        db.execute("SELECT ledger.grant_tenant(%s, %s)", (mine.tenant, role))
        with psycopg.connect(make_conninfo(dsn, user=role), autocommit=True) as conn:
            seen = {r[1] for r in conn.execute("SELECT * FROM ledger.verify()").fetchall()}
            assert seen == {mine.tenant}
            with raises("42501"):
                conn.execute("SELECT * FROM ledger.verify(%s)", (other.tenant,))
        assert {r["tenant"] for r in mine.verify(everywhere=True)} == {mine.tenant, other.tenant}
    finally:
        db.execute("DELETE FROM ledger.tenant_grant WHERE role_name = %s", (role,))
        db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_the_app_cannot_grant_or_revoke(ledger: Ledger, login: Login) -> None:
    role, conn = login()
    for fn in OWNER_ONLY:
        with raises("42501"):
            conn.execute(f"SELECT {fn}(%s, %s)", (ledger.tenant, role))
    assert ledger.scalar(
        "SELECT count(*) AS n FROM ledger.tenant_grant WHERE role_name = %s", (role,)
    ) == 0


def test_grant_checks_its_input(ledger: Ledger, login: Login) -> None:
    role, _conn = login()
    with raises("22023"):
        grant(ledger, ledger.tenant, f"pgb_no_such_role_{uuid.uuid4().hex[:8]}")
    with raises("22023"):
        ledger.conn.execute("SELECT ledger.grant_tenant(%s, NULL)", (ledger.tenant,))
    with raises("22023"):
        ledger.conn.execute("SELECT ledger.grant_tenant(NULL, %s)", (role,))
    with raises("22023"):
        ledger.conn.execute("SELECT ledger.revoke_tenant(%s, NULL)", (ledger.tenant,))
    grant(ledger, ledger.tenant, role)
    grant(ledger, ledger.tenant, role)  # again: a no-op
    assert ledger.scalar(
        "SELECT count(*) AS n FROM ledger.tenant_grant WHERE role_name = %s", (role,)
    ) == 1


def test_a_grant_follows_the_role_not_its_name(
    ledger: Ledger, login: Login, kernel_dsn: str, tenant: str
) -> None:
    """By OID: a renamed role keeps its grants; a role dropped and re-created under the same
    name does not inherit them (by name, it did)."""
    role, conn = login()
    grant(ledger, ledger.tenant, role)
    other = f"{tenant}-other"
    renamed = f"{role}_renamed"
    ledger.conn.execute(sql.SQL("ALTER ROLE {} RENAME TO {}").format(
        sql.Identifier(role), sql.Identifier(renamed)))  # fmt: skip
    try:
        with raises("42501"):
            Ledger(conn, other).open("a")
        Ledger(conn, ledger.tenant).open("a")
    finally:
        ledger.conn.execute(sql.SQL("ALTER ROLE {} RENAME TO {}").format(
            sql.Identifier(renamed), sql.Identifier(role)))  # fmt: skip
    conn.close()
    ledger.conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    ledger.conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE pgbalance_app").format(
        sql.Identifier(role)))  # fmt: skip
    with psycopg.connect(make_conninfo(kernel_dsn, user=role), autocommit=True) as again:
        Ledger(again, other).open("b")  # unbound: reaches every tenant


def test_a_role_that_cannot_log_in_is_not_granted(ledger: Ledger) -> None:
    """The check compares the session_user: a grant to a group role would bind no one."""
    before = ledger.scalar("SELECT count(*) AS n FROM ledger.tenant_grant")
    with raises("22023") as info:
        grant(ledger, ledger.tenant, "pgbalance_app")
    assert info.value.diag.message_hint
    assert ledger.scalar("SELECT count(*) AS n FROM ledger.tenant_grant") == before


@pytest.mark.parametrize("bad", ["", "x" * 300])
def test_all_tenant_calls_check_a_given_tenant(ledger: Ledger, bad: str) -> None:
    """expire_holds and verify take NULL for every tenant; any other tenant is checked like
    everywhere else (22023), not read as a tenant with nothing in it."""
    with raises("22023"):
        ledger.conn.execute("SELECT ledger.expire_holds(%s)", (bad,))
    with raises("22023"):
        ledger.conn.execute("SELECT * FROM ledger.verify(%s)", (bad,))
