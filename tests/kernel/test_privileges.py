"""pgbalance_app may call the API and nothing else; pgbalance_auditor reads and verifies.

Each test creates a LOGIN role (unique per run) granted the product role, connects as it,
and drops it afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.kernel.support import Ledger, new_key, raises

Login = Callable[[str], psycopg.Connection[Any]]


@pytest.fixture
def login(kernel_dsn: str, kernel_conn: psycopg.Connection[Any]) -> Iterator[Login]:
    """login('pgbalance_app') -> a connection as a fresh LOGIN role member of that role."""
    roles: list[str] = []
    conns: list[psycopg.Connection[Any]] = []

    def _login(member_of: str) -> psycopg.Connection[Any]:
        role = f"pgb_kernel_test_{uuid.uuid4().hex[:10]}"
        kernel_conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(
                sql.Identifier(role), sql.Identifier(member_of)
            )
        )
        roles.append(role)
        params = conninfo_to_dict(kernel_dsn)
        params.update(user=role, password=None)
        conn = psycopg.connect(make_conninfo(**params), autocommit=True)
        conns.append(conn)
        return conn

    yield _login
    for conn in conns:
        conn.close()
    for role in roles:
        kernel_conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


TABLE_STATEMENTS = [
    "SELECT * FROM ledger.account",
    "SELECT * FROM ledger.entry",
    "SELECT * FROM ledger.posting",
    "INSERT INTO ledger.entry (tenant_id, idempotency_key, fingerprint, status, amount)"
    " VALUES ('t', 'k', gen_random_uuid(), 'posted', 1)",
    "INSERT INTO ledger.posting (tenant_id, entry_id, posting_no, account_id, kind, amount,"
    " posted_at) VALUES ('t', 1, 1, 1, 'B', 1, now())",
    "UPDATE ledger.account SET balance = balance + 1",
    "UPDATE ledger.entry SET status = 'voided'",
    "DELETE FROM ledger.posting",
    "TRUNCATE ledger.posting",
]
PRIVATE_CALLS = [
    "SELECT * FROM ledger.verify()",
    "SELECT * FROM ledger._post('t', 'k', ARRAY['a','b'], ARRAY[-1,1]::bigint[], '{}',"
    " false, NULL, true, false)",
    "SELECT * FROM ledger._open_account('t', 'pgb:x', 'EUR', 0, NULL, '{}')",
    "SELECT * FROM ledger._reverse('t', 'k', 1, NULL, '{}', false)",
    "SELECT ledger._raise('PB001', 'x')",
]


def test_app_role_calls_the_api(ledger: Ledger, login: Login) -> None:
    app = Ledger(login("pgbalance_app"), ledger.tenant)
    assert app.rows("SELECT current_user AS u")[0]["u"].startswith("pgb_kernel_test_")
    app.open("a")
    app.open("b")
    app.open("w", "EUR", None, None)
    app.transfer(new_key(), "w", "a", 500)
    moved = app.transfer("t1", "a", "b", 100)
    assert app.transfer("t1", "a", "b", 100)["replayed"] is True
    hold = app.hold(new_key(), "a", "b", 50)
    app.capture(hold["entry_id"], 20)
    app.void(app.hold(new_key(), "a", "b", 10)["entry_id"])
    app.post(new_key(), [("a", -10), ("b", 10)])
    app.reverse(new_key(), moved["entry_id"], 30)
    assert app.expire_holds() == 0
    assert app.balance("a") == 500 - 100 - 20 - 10 + 30
    assert app.entry(moved["entry_id"])["status"] == "posted"
    assert app.statement("a")[-1]["balance_after"] == app.balance("a")
    assert app.balance_at("a", app.now()) == app.balance("a")
    app.transfer(new_key(), "b", "a", app.balance("b"))
    app.transfer(new_key(), "a", "w", app.balance("a"))
    assert app.close("b")["closed"] is True
    with raises("PB001"):  # errors reach the app with their SQLSTATE
        app.transfer(new_key(), "a", "w", 1)


@pytest.mark.parametrize("statement", TABLE_STATEMENTS + PRIVATE_CALLS)
def test_app_role_has_no_table_or_private_access(
    ledger: Ledger, login: Login, statement: str
) -> None:
    app = login("pgbalance_app")
    before = ledger.state()
    with raises("42501"):
        app.execute(statement)
    assert ledger.state() == before


def test_auditor_reads_and_verifies_but_cannot_move_money(ledger: Ledger, login: Login) -> None:
    ledger.open("a")
    ledger.fund("a", 70)
    auditor = Ledger(login("pgbalance_auditor"), ledger.tenant)
    # Accounts with no limit keep their amounts in their row plus their stripes.
    assert auditor.scalar(
        "SELECT (SELECT sum(balance) FROM ledger.account WHERE tenant_id = %s)"
        " + (SELECT coalesce(sum(balance), 0) FROM ledger.account_stripe WHERE tenant_id = %s)"
        " AS s", (ledger.tenant, ledger.tenant)
    ) == 0
    assert auditor.scalar("SELECT count(*) AS n FROM ledger.posting WHERE tenant_id = %s",
                          (ledger.tenant,)) == 2  # fmt: skip
    assert auditor.verify() == []
    assert auditor.verify(everywhere=True) == []
    assert auditor.balance("a") == 70
    before = ledger.state()
    for statement in (
        "SELECT * FROM ledger.transfer('t', 'k', 'a', 'b', 1)",
        "UPDATE ledger.account SET metadata = '{}'",
        "DELETE FROM ledger.entry",
    ):
        with raises("42501"):
            auditor.conn.execute(statement)
    assert ledger.state() == before
