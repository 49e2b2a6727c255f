"""The contract on a Citus coordinator: a representative set of the kernel and workflow tests
(happy paths and the key error codes), the PB009 guards, verify and expire_holds, with
tenants on both workers. Every test has a tenant of its own and ends with verify clean."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb

from pgbalance.distribute import SPANNING
from tests.citus.conftest import needs_engine
from tests.helpers.tenant_sql import TenantSql
from tests.kernel.support import Ledger, Row, detail, new_key, raises
from tests.workflows.fees_tuition_support import Fees, Tuition


@pytest.fixture
def ab(ledger: Ledger) -> Ledger:
    """a: 1000 (floor 0), b: 0 with a ceiling of 5000, world: unlimited."""
    ledger.open("a")
    ledger.open("b", "EUR", 0, 5000)
    ledger.fund("a", 1000)
    return ledger


class Api(TenantSql):
    """The workflow functions of one tenant; verify at the end."""

    def verify(self) -> list[Row]:
        return self.call_rows("ledger.verify")


@pytest.fixture
def api(citus_conn: psycopg.Connection[Any], tenant: str) -> Iterator[Api]:
    a = Api(citus_conn, tenant)
    yield a
    assert a.verify() == []


def node_of(conn: psycopg.Connection[Any], tenant: str) -> str:
    """host:port of the worker holding the tenant's shards."""
    row = conn.execute(
        "SELECT nodename || ':' || nodeport FROM pg_dist_shard_placement"
        " WHERE shardid = get_shard_id_for_distribution_column('ledger.account', %s::text)",
        (tenant,),
    ).fetchone()
    assert row is not None
    return str(row[0])


def movements(book: Ledger) -> tuple[int, int, int]:
    """Entries, postings and the sum of balances of the tenant (Ledger.state() calls a
    function inside a query over a distributed table, which Citus refuses)."""
    row = book.one(
        "SELECT (SELECT count(*) FROM ledger.entry WHERE tenant_id = %(t)s) AS e,"
        " (SELECT count(*) FROM ledger.posting WHERE tenant_id = %(t)s) AS p,"
        " (SELECT sum(balance) FROM ledger.account WHERE tenant_id = %(t)s) AS b",
        {"t": book.tenant},
    )
    return (row["e"], row["p"], row["b"])


def on_both_workers(conn: psycopg.Connection[Any], stem: str, n: int) -> list[str]:
    """n tenant names, half of them on each worker."""
    by_node: dict[str, list[str]] = {}
    for name in (f"{stem}-{i}" for i in range(200)):
        by_node.setdefault(node_of(conn, name), []).append(name)
    assert len(by_node) == 2
    return [name for names in by_node.values() for name in names[: n // 2]]


# -- migrate distributed the schema ----------------------------------------------------------


def test_tables_are_colocated_and_public_functions_delegated(citus_conn: Any) -> None:
    groups = citus_conn.execute(
        "SELECT partmethod, count(*), count(DISTINCT colocationid) FROM pg_dist_partition"
        " WHERE logicalrelid::text ~ '^(ledger|wallet|booking|fees|tuition)\\.'"
        " GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert groups == [("h", 18, 1), ("n", 3, 1)]  # reference: distribute.REFERENCE_TABLES
    undelegated = citus_conn.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc AS p"
        " JOIN pg_namespace AS n ON n.oid = p.pronamespace"
        " LEFT JOIN pg_dist_object AS d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid"
        " WHERE n.nspname IN ('ledger', 'wallet', 'booking', 'fees', 'tuition')"
        "   AND p.proname !~ '^_' AND d.distribution_argument_index IS DISTINCT FROM 0"
        " ORDER BY 1"
    ).fetchall()
    assert [r[0] for r in undelegated] == sorted(f"{fn}(text)" for fn in SPANNING)


def test_tenants_live_on_both_workers(citus_conn: Any) -> None:
    nodes = {node_of(citus_conn, f"tenant-{i}") for i in range(16)}
    assert len(nodes) == 2


# -- accounts ---------------------------------------------------------------------------------


def test_open_get_close(ledger: Ledger) -> None:
    row = ledger.open("a", "EUR", 0, 100)
    assert (row["code"], row["balance"], row["max_balance"], row["closed"]) == ("a", 0, 100, False)
    assert ledger.open("a", "EUR", 0, 100) == row  # same definition: the account
    with raises("PB003"):
        ledger.open("a", "USD", 0, 100)
    assert ledger.account("a") == row
    assert ledger.close("a")["closed"] is True
    with raises("PB005"):
        ledger.account("nobody")
    with raises("22023"):
        ledger.open("b", "euro")


def test_same_codes_in_two_tenants_stay_apart(citus_conn: Any, tenant: str) -> None:
    one, two = Ledger(citus_conn, tenant), Ledger(citus_conn, tenant + "-2")
    one.open("a", "EUR", None, None)
    two.open("a", "USD", None, None)
    assert (one.account("a")["currency"], two.account("a")["currency"]) == ("EUR", "USD")
    assert one.verify() == [] and two.verify() == []


# -- movements --------------------------------------------------------------------------------


@needs_engine
def test_transfer_replay_and_errors(ab: Ledger) -> None:
    row = ab.transfer("k1", "a", "b", 300)
    assert (row["status"], row["replayed"]) == ("posted", False)
    assert ab.transfer("k1", "a", "b", 300) == {**row, "replayed": True}
    assert (ab.balance("a"), ab.balance("b")) == (700, 300)
    before = movements(ab)
    with raises("PB003"):
        ab.transfer("k1", "a", "b", 301)
    with raises("PB001") as info:
        ab.transfer(new_key(), "a", "b", 701)
    assert detail(info)["account"] == "a"
    with raises("PB002"):
        ab.transfer(new_key(), ab.world(), "b", 4701)
    with raises("PB005"):
        ab.transfer(new_key(), "a", "nobody", 1)
    ab.open("usd", "USD")
    with raises("PB006"):
        ab.transfer(new_key(), "a", "usd", 1)
    with raises("22023"):
        ab.transfer(new_key(), "a", "b", 0)
    assert movements(ab) == before


@needs_engine
def test_post_entry_multi_leg(ab: Ledger) -> None:
    ab.open("c")
    row = ab.post("m1", [("a", -100), ("b", 60), ("c", 40)], {"memo": "split"})
    assert ab.legs(row["entry_id"]) == {"a": -100, "b": 60, "c": 40}
    assert ab.entry(row["entry_id"])["metadata"] == {"memo": "split"}
    with raises("22023"):
        ab.post(new_key(), [("a", -100), ("b", 60)])


@needs_engine
def test_hold_capture_void(ab: Ledger) -> None:
    hold = ab.hold("h1", "a", "b", 300)
    assert hold["status"] == "pending"
    assert ab.account("a")["available"] == 700
    assert ab.capture(hold["entry_id"], 200)["status"] == "posted"
    assert (ab.balance("a"), ab.balance("b"), ab.account("a")["available"]) == (800, 200, 800)
    with raises("PB004"):
        ab.void(hold["entry_id"])
    other = ab.hold("h2", "a", "b", 100)
    assert ab.void(other["entry_id"])["status"] == "voided"
    assert ab.void(other["entry_id"])["replayed"] is True
    with raises("PB001"):
        ab.hold(new_key(), "a", "b", 801)
    with raises("PB005"):
        ab.capture(10**15)


@needs_engine
def test_reverse_full_and_partial(ab: Ledger) -> None:
    entry = ab.transfer("t1", "a", "b", 400)["entry_id"]
    ab.reverse("r1", entry, 100)
    with raises("PB002"):
        ab.reverse("r2", entry, 301)
    assert ab.reverse("r3", entry)["status"] == "posted"
    assert ab.entry(entry)["status"] == "reversed"
    with raises("PB004"):
        ab.reverse("r4", entry)
    assert (ab.balance("a"), ab.balance("b")) == (1000, 0)


@needs_engine
def test_transfer_batch_non_atomic_and_atomic(ab: Ledger) -> None:
    def batch(items: Any, atomic: bool) -> list[Row]:
        return ab.rows("SELECT * FROM ledger.transfer_batch(%s, %s, %s) ORDER BY idx",
                       (ab.tenant, Jsonb(items), atomic))  # fmt: skip

    items = [{"key": "k1", "from": "a", "to": "b", "amount": 100},
             {"key": "k2", "from": "a", "to": "b", "amount": 5000},   # PB001: discarded
             {"key": "k3", "from": "a", "to": "nobody", "amount": 1}]  # fmt: skip
    assert [r["error_code"] for r in batch(items, False)] == [None, "PB001", "PB005"]
    assert not ab.key_exists("k2") and not ab.key_exists("k3")
    with raises("PB001") as info:
        batch([{"key": "k4", "from": "a", "to": "b", "amount": 1}, items[1]], True)
    assert detail(info)["idx"] == "2"
    assert not ab.key_exists("k4")
    assert (ab.balance("a"), ab.balance("b")) == (900, 100)


@needs_engine
def test_a_batch_run_on_the_coordinator_discards_its_failed_items(ab: Ledger) -> None:
    """Inside a transaction block a call is not delegated: the coordinator runs it and sends
    its DELETE of a failed item's entry row to the worker, whose entry guard must let it
    through there too."""
    items = [{"key": "c1", "from": "a", "to": "b", "amount": 100},
             {"key": "c2", "from": "a", "to": "b", "amount": 5000}]  # fmt: skip
    with ab.conn.transaction():
        rows = ab.rows("SELECT * FROM ledger.transfer_batch(%s, %s, false) ORDER BY idx",
                       (ab.tenant, Jsonb(items)))  # fmt: skip
    assert [r["error_code"] for r in rows] == [None, "PB001"]
    assert ab.key_exists("c1") and not ab.key_exists("c2")
    with raises("PB009"):  # the marker does not outlive the call, on the worker either
        with ab.conn.transaction():
            ab.rows("SELECT * FROM ledger.transfer_batch(%s, %s, false)",
                    (ab.tenant, Jsonb(items[1:])))  # fmt: skip
            # As the owner, so that Citus uses the call's connection to the worker; no row,
            # so only the statement guard, which reads the marker, can refuse it.
            ab.conn.execute("SET LOCAL ROLE pgbalance_owner")
            ab.conn.execute("DELETE FROM ledger.entry WHERE tenant_id = %s AND entry_id = -1",
                            (ab.tenant,))  # fmt: skip


@needs_engine
def test_a_batch_run_on_the_coordinator_outside_a_block_discards_its_failed_items(
    ab: Ledger,
) -> None:
    """Outside a transaction block too: Citus sends a SET LOCAL to the workers only inside a
    multi-statement transaction (a transaction block, a DO block, a procedure, or a statement
    an executor level down from the top). Here the coordinator runs the call (an argument is a
    subquery: not delegated), as the node a tenant is leaving runs a call delegated to it just
    before a move switches; its discard DELETE reaches the worker with the marker only
    because ledger.transfer_batch runs ledger._move as a query (as an expression, the entry
    guard there refuses the discard with PB009)."""
    items = [{"key": "o1", "from": "a", "to": "b", "amount": 100},
             {"key": "o2", "from": "a", "to": "b", "amount": 5000}]  # fmt: skip
    # A subquery argument: Citus does not delegate the call, the coordinator runs it.
    rows = ab.rows("SELECT * FROM ledger.transfer_batch(%s, (SELECT %s::jsonb), false)"
                   " ORDER BY idx", (ab.tenant, Jsonb(items)))  # fmt: skip
    assert [r["error_code"] for r in rows] == [None, "PB001"]
    assert ab.key_exists("o1") and not ab.key_exists("o2")


@needs_engine
def test_statement_and_balance_at(ab: Ledger) -> None:
    ab.transfer("s1", "a", "b", 10)
    middle = ab.now()
    ab.transfer("s2", "a", "b", 20)
    lines = ab.statement("b")
    assert [line["amount"] for line in lines] == [10, 20]
    assert ab.balance_at("b", middle) == 10
    assert ab.balance_at("b", ab.now()) == 30


def test_archive_keeps_statements_and_checks(ab: Ledger) -> None:
    """ledger.archive on Citus: the move runs on the tenant's worker (posting_archive is
    co-located), and the readers of both tables give the same answers after it."""
    ab.transfer("s1", "a", "b", 10)
    ab.hold("h1", "a", "b", 5)
    middle = ab.now()
    sealed = ab.call("seal")
    ab.transfer("s2", "a", "b", 20)
    before = (ab.statement("b"), ab.balance_at("b", middle), ab.entry(ab.entry_id("s1")))
    moved = ab.one("SELECT * FROM ledger.archive(%s, %s)", (ab.tenant, sealed["seal_no"]))
    # The funding and s1 (two postings each) moved; the pending hold's stayed.
    assert moved["postings"] == 4
    assert ab.scalar("SELECT count(*) FROM ledger.posting_archive WHERE tenant_id = %s",
                     (ab.tenant,)) == 4  # fmt: skip
    assert (ab.statement("b"), ab.balance_at("b", middle), ab.entry(ab.entry_id("s1"))) == before
    ab.reverse("r1", ab.entry_id("s1"), 3)
    ab.capture(ab.entry_id("h1"), 5)
    assert ab.verify() == []
    assert ab.rows("SELECT * FROM ledger.verify_full(%s)", (ab.tenant,)) == []
    assert ab.rows("SELECT * FROM ledger.verify_seal(%s, %s)", (ab.tenant, sealed["digest"])) == []


# -- guards, verify, expiry ---------------------------------------------------------------------

FORBIDDEN = [
    "UPDATE ledger.posting SET amount = amount + 1 WHERE tenant_id = %(t)s",
    "DELETE FROM ledger.posting WHERE tenant_id = %(t)s",
    "DELETE FROM ledger.entry WHERE tenant_id = %(t)s",
    "UPDATE ledger.entry SET metadata = '{\"x\": 1}' WHERE tenant_id = %(t)s",
    "UPDATE ledger.account SET balance = balance + 1 WHERE tenant_id = %(t)s AND code = 'b'",
    "UPDATE ledger.account SET code = code || 'x' WHERE tenant_id = %(t)s",
    "INSERT INTO ledger.account (tenant_id, code, currency, balance) VALUES (%(t)s, 'x', 'EUR', 5)",
]


@needs_engine
@pytest.mark.parametrize("statement", FORBIDDEN)
def test_guards_refuse_the_owner(ab: Ledger, statement: str) -> None:
    ab.transfer("g1", "a", "b", 40)
    before = ab.rows("SELECT code, balance FROM ledger.account WHERE tenant_id = %s ORDER BY 1",
                     (ab.tenant,))  # fmt: skip
    with raises("PB009"):
        ab.conn.execute(statement, {"t": ab.tenant})
    assert ab.rows("SELECT code, balance FROM ledger.account WHERE tenant_id = %s ORDER BY 1",
                   (ab.tenant,)) == before  # fmt: skip


def test_guard_refuses_a_balance_update_of_a_new_account(ledger: Ledger) -> None:
    ledger.open("a")
    with raises("PB009"):
        ledger.conn.execute(
            "UPDATE ledger.account SET balance = 5 WHERE tenant_id = %s AND code = 'a'",
            (ledger.tenant,),
        )


def test_verify_sees_a_balance_changed_behind_the_trigger(ledger: Ledger) -> None:
    """The superuser's repair door (replica role, propagated to the worker by SET LOCAL):
    verify on the cluster reports the damage, and is clean once it is undone."""
    ledger.open("a", "EUR", None, None)

    def nudge(delta: int) -> None:
        with ledger.conn.transaction():
            ledger.conn.execute("SET LOCAL citus.propagate_set_commands = 'local'")
            ledger.conn.execute("SET LOCAL session_replication_role = replica")
            ledger.conn.execute(
                "UPDATE ledger.account SET balance = balance + %s"
                " WHERE tenant_id = %s AND code = 'a'",
                (delta, ledger.tenant),
            )

    nudge(7)
    try:
        found = ledger.verify()
        assert [(r["check_name"], r["subject"]) for r in found] == [("balance_mismatch", "a")]
        everywhere = ledger.verify(everywhere=True)
        assert [r for r in everywhere if r["tenant"] == ledger.tenant] == found
    finally:
        nudge(-7)


@needs_engine
def test_expire_holds_per_tenant_and_everywhere(citus_conn: Any, tenant: str) -> None:
    books = [Ledger(citus_conn, t) for t in on_both_workers(citus_conn, tenant, 6)]
    for book in books:
        book.open("a")
        book.open("b")
        book.fund("a", 100)
        book.hold(new_key(), "a", "b", 30, expires_at=book.now() - timedelta(seconds=1))
    assert books[0].expire_holds() == 1
    # Every tenant: these five, and whatever expired hold another test left in the database.
    assert books[0].expire_holds(everywhere=True) >= len(books) - 1
    for book in books:
        assert book.account("a")["available"] == 100
        assert book.verify() == []


# -- workflows --------------------------------------------------------------------------------


@needs_engine
def test_wallet(api: Api) -> None:
    api.call("wallet.open", "u1", "EUR")
    api.call("wallet.topup", "u1", 1000, "top-1")
    api.call("wallet.purchase", "u1", 300, "buy-1")
    with raises("PB001"):
        api.call("wallet.purchase", "u1", 701, "buy-2")
    assert api.call("wallet.fail_purchase", "buy-1", "out of stock")["status"] == "failed"
    assert api.call("wallet.balance", "u1")["balance"] == 1000
    assert [h["reference"] for h in api.call_rows("wallet.history", "u1")] == ["top-1", "buy-1"]
    with raises("PB005"):
        api.call("wallet.balance", "nobody")


@needs_engine
def test_booking(api: Api) -> None:
    row = api.call("booking.create", "b1", 10_000, 2_000, "EUR")
    assert row["status"] == "PENDING"
    with raises("PB003"):
        api.call("booking.create", "b1", 10_001, 2_000, "EUR")
    assert api.call("booking.record_deposit", "b1", 2_000, "dep-1")["status"] == "DEPOSIT_PAID"
    done = api.call("booking.complete_balance_payment", "b1", 8_000, "bal-1")
    assert (done["status"], done["outstanding"]) == ("PAID", 0)
    assert api.call("booking.get", "b1")["status"] == "PAID"
    assert api.call_rows("booking.unapplied_payments", "b1") == []


@needs_engine
def test_fees(citus_conn: Any, tenant: str) -> None:
    fees = Fees(citus_conn, tenant)
    fees.open_wallet("s", topup=1000)
    fees.open_wallet("c", topup=1000)
    with raises("PB005"):
        fees.create("l0", shipper="nobody")
    fees.create("l1")
    fees.complete("l1")
    assert fees.deduct("l1", 50, 30)["fee_status"] == "DEDUCTED"
    assert fees.revenue() == 80
    assert fees.refund("l1", "dispute")["fee_status"] == "REFUNDED"
    assert (fees.wallet("s"), fees.wallet("c"), fees.revenue()) == (1000, 1000, 0)
    assert fees.get("l1")["status"] == "COMPLETED"
    assert fees.verify() == []


@needs_engine
def test_tuition(citus_conn: Any, tenant: str) -> None:
    tuition = Tuition(citus_conn, tenant)
    tuition.assess("s1", [{"name": "T1", "amount": 500}, {"name": "T2", "amount": 500}])
    with raises("PB004"):
        tuition.submit("s1", 2, 100, "early")  # terms are paid in order
    first = tuition.submit("s1", 1, 500, "p1")
    second = tuition.submit("s1", 2, 200, "p2")
    assert [p["payment_id"] for p in tuition.queue()] == [first["payment_id"],
                                                          second["payment_id"]]  # fmt: skip
    assert tuition.approve(first["payment_id"], "clerk")["status"] == "paid"
    assert tuition.reject(second["payment_id"], "unreadable")["status"] == "rejected"
    assert [t["status"] for t in tuition.overview("s1")] == ["paid", "unpaid"]
    assert tuition.verify() == []


def test_a_tenant_bound_role_reaches_only_its_tenants(
    citus_dsn: str, citus_conn: Any, tenant: str
) -> None:
    """ledger.tenant_grant is a reference table: the delegated call reads it on the worker.
    Grants name the role by OID (regrole), and a role's OID differs from node to node: each
    replica must hold its own node's OID for the role."""
    role = "pgbalance_citus_bound"
    if not citus_conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
        # Spend OIDs on the tenant's worker only, so that the role gets another OID there.
        host, port = node_of(citus_conn, tenant).rsplit(":", 1)
        with psycopg.connect(make_conninfo(citus_dsn, host=host, port=port),
                             autocommit=True) as worker:  # fmt: skip
            worker.execute("CREATE TEMP TABLE spend_oids (a int, b text)")
        citus_conn.execute(f"CREATE ROLE {role} LOGIN IN ROLE pgbalance_app")
    Ledger(citus_conn, tenant).open("a")
    citus_conn.execute("SELECT ledger.grant_tenant(%s, %s)", (tenant, role))
    oids = {r[0] for r in citus_conn.execute(
        "SELECT result FROM run_command_on_all_nodes("
        " $$SELECT oid FROM pg_roles WHERE rolname = 'pgbalance_citus_bound'$$)").fetchall()}
    assert len(oids) > 1  # else the check below would pass by chance
    stored = citus_conn.execute(
        "SELECT result FROM run_command_on_all_nodes(format($$SELECT count(*)"
        " FROM ledger.tenant_grant AS g JOIN pg_roles AS r ON r.oid = g.role_id"
        " WHERE r.rolname = 'pgbalance_citus_bound' AND g.tenant_id = %%L$$, %s::text))",
        (tenant,),
    ).fetchall()
    assert {r[0] for r in stored} == {"1"}, stored
    with psycopg.connect(make_conninfo(citus_dsn, user=role), autocommit=True) as conn:
        assert Ledger(conn, tenant).account("a")["code"] == "a"
        with raises("42501"):
            Ledger(conn, tenant + "-other").account("a")
    citus_conn.execute("SELECT ledger.revoke_tenant(%s, %s)", (tenant, role))
