"""One worker per call: every public function called for one tenant touches only the shards
of that tenant's shard group, on that tenant's worker.

How shards are counted: a probe role for which every node runs with citus.log_local_commands
and citus.log_remote_commands on. Citus then reports each command it runs on a shard (locally
inside a delegated call, or sent to another node) as a NOTICE naming the shard table
(`ledger.account_102009`) and the node it ran on; those NOTICEs reach the client. A query that
forgets `tenant_id = p_tenant` inside a delegated call is sent to every shard of its table and
shows up here, although it raises nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb

from pgbalance.distribute import SPANNING
from tests.citus.conftest import needs_engine

PROBE = "pgbalance_shard_probe"
GRANTEE = "pgbalance_shard_grantee"  # a role the scenario grants its tenant to, then revokes
SCHEMAS = ("ledger", "wallet", "booking", "fees", "tuition")
_SHARD_TABLE = re.compile(r"\b(?:ledger|wallet|booking|fees|tuition)\.\w+?_(\d{6,})\b")
_SHARD_ID = re.compile(r"\bfor shard (\d+)")
_NODE = re.compile(r"(?:from |@)([\w.-]+:\d+)")


@dataclass
class Touches:
    """The shards (by id) and nodes the notices of one call name."""

    shards: set[int] = field(default_factory=set)
    nodes: set[str] = field(default_factory=set)
    lines: list[str] = field(default_factory=list)

    def add(self, diag: psycopg.errors.Diagnostic) -> None:
        text = diag.message_primary or ""
        self.lines.append(text[:200])
        self.shards |= {int(x) for x in _SHARD_TABLE.findall(text) + _SHARD_ID.findall(text)}
        self.nodes |= set(_NODE.findall(diag.message_detail or ""))


class Probe:
    """A coordinator connection whose calls are followed shard by shard."""

    def __init__(self, conn: psycopg.Connection[Any], admin: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.admin = admin
        self.current = Touches()
        conn.add_notice_handler(lambda diag: self.current.add(diag))
        # Shard id -> its group (the hash range colocated shards share) and its node.
        rows = admin.execute(
            "SELECT s.shardid, s.shardminvalue, p.nodename || ':' || p.nodeport"
            " FROM pg_dist_shard AS s JOIN pg_dist_shard_placement AS p USING (shardid)"
        ).fetchall()
        self.group = {int(r[0]): str(r[1]) for r in rows}
        # A reference shard has a placement per node: keep the one a stray check compares.
        self.node = {int(r[0]): str(r[2]) for r in rows if r[1] is not None}

    def touches(self, query: str, params: Any = ()) -> Touches:
        self.current = Touches()
        self.conn.execute(query, params).fetchall()
        return self.current

    def home(self, tenant: str) -> tuple[str, str]:
        """The tenant's shard group and worker."""
        row = self.admin.execute(
            "SELECT get_shard_id_for_distribution_column('ledger.account', %s::text)", (tenant,)
        ).fetchone()
        assert row is not None
        return self.group[int(row[0])], self.node[int(row[0])]

    def strays(self, tenant: str, touched: Touches) -> list[str]:
        """What a call for `tenant` touched outside the tenant's shard group and worker."""
        group, node = self.home(tenant)
        # A reference table (ledger.tenant_grant, no hash range) has a replica on every node:
        # the tenant's worker reads its own, so only the node check below applies to it.
        out = [f"shard {s} (group {self.group.get(s)}, {self.node.get(s)})"
               for s in sorted(touched.shards)
               if self.group.get(s) not in (group, "None")]  # fmt: skip
        out += [f"node {n}" for n in sorted(touched.nodes - {node})]
        return out


@pytest.fixture(scope="module")
def probe(citus_dsn: str, citus_conn: psycopg.Connection[Any]) -> Iterator[Probe]:
    # Tenants are granted to login roles only (ledger.grant_tenant).
    for role, options in ((PROBE, "SUPERUSER LOGIN"), (GRANTEE, "LOGIN")):
        found = citus_conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        citus_conn.execute(
            sql.SQL(("ALTER" if found else "CREATE") + " ROLE {} " + options).format(
                sql.Identifier(role)
            )
        )
    params = conninfo_to_dict(citus_dsn)
    nodes = citus_conn.execute("SELECT nodename, nodeport FROM pg_dist_node").fetchall()
    for host, port in nodes:
        with psycopg.connect(make_conninfo(citus_dsn, host=host, port=port),
                             autocommit=True) as node:  # fmt: skip
            node.execute("SET citus.enable_ddl_propagation = off")
            for setting in ("citus.log_local_commands", "citus.log_remote_commands"):
                node.execute(
                    sql.SQL("ALTER ROLE {} IN DATABASE {} SET {} = on").format(
                        sql.Identifier(PROBE), sql.Identifier(str(params["dbname"])),
                        sql.Identifier(*setting.split(".")),
                    )
                )  # fmt: skip
    with psycopg.connect(make_conninfo(citus_dsn, user=PROBE), autocommit=True) as conn:
        yield Probe(conn, citus_conn)


def public_functions(conn: psycopg.Connection[Any]) -> set[str]:
    rows = conn.execute(
        "SELECT n.nspname || '.' || p.proname FROM pg_proc AS p"
        " JOIN pg_namespace AS n ON n.oid = p.pronamespace"
        " WHERE n.nspname = ANY(%s) AND p.proname !~ '^_'",
        (list(SCHEMAS),),
    ).fetchall()
    return {str(r[0]) for r in rows}


def calls(t: str) -> list[tuple[str, str, tuple[Any, ...]]]:
    """One tenant's life through every public function: (function, query, params)."""
    legs = Jsonb([{"account": "w", "amount": -5}, {"account": "a", "amount": 5}])
    batch = Jsonb([{"key": "b1", "from": "w", "to": "a", "amount": 1}])
    terms = Jsonb([{"name": "T1", "amount": 500}])

    def call(fn: str, *args: Any) -> tuple[str, str, tuple[Any, ...]]:
        marks = ", ".join(["%s"] * (len(args) + 1))
        return fn, f"SELECT * FROM {fn}({marks})", (t, *args)

    # Arguments that are looked up first (entry ids) are plain values: a subquery as an
    # argument is not delegated (Citus runs the call on the coordinator then).
    return [
        call("ledger.open_account", "a", "EUR", 0, None, Jsonb({})),
        call("ledger.open_account", "w", "EUR", None, None, Jsonb({})),
        call("ledger.open_account", "hot", "EUR", None, None, Jsonb({})),
        call("ledger.set_account_stripes", "hot", 4),
        call("ledger.get_account", "a"),
        call("ledger.get_tenant"),
        call("ledger.version"),
        call("ledger.transfer", "k1", "w", "a", 100, Jsonb({})),
        call("ledger.transfer", "k2", "w", "hot", 10, Jsonb({})),
        call("ledger.post_entry", "k3", legs, Jsonb({}), False, None),
        call("ledger.hold", "h1", "a", "w", 10, None, Jsonb({})),
        call("ledger.hold", "h2", "a", "w", 10, None, Jsonb({})),
        ("ledger.capture", "entry:h1", ()),
        ("ledger.void", "entry:h2", ()),
        call("ledger.hold", "h3", "a", "w", 1, "2000-01-01", Jsonb({})),
        call("ledger.expire_holds"),
        ("ledger.reverse", "entry:k2", ()),
        ("ledger.get_entry", "entry:k3", ()),
        call("ledger.transfer_batch", batch, False),
        call("ledger.statement", "a", "-infinity", "infinity"),
        call("ledger.balance_at", "a", "infinity"),
        call("ledger.statement_page", "a", None, 100),
        call("ledger.seal"),
        call("ledger.verify"),
        call("ledger.verify_full"),
        ("ledger.verify_seal", "seal:", ()),
        call("ledger.archive", 1),
        call("ledger.changes", None, 100),
        call("ledger.open_account", "gone", "EUR", 0, None, Jsonb({})),
        call("ledger.close_account", "gone"),
        call("wallet.open", "u1", "EUR"),
        call("wallet.topup", "u1", 1000, "top-1"),
        call("wallet.purchase", "u1", 300, "buy-1", Jsonb([])),
        call("wallet.fail_purchase", "buy-1", "out of stock"),
        call("wallet.balance", "u1"),
        call("wallet.history", "u1"),
        call("wallet.open", "u2", "EUR"),
        call("booking.create", "b1", 1000, 200, "EUR"),
        call("booking.record_deposit", "b1", 200, "dep-1"),
        call("booking.complete_balance_payment", "b1", 800, "bal-1"),
        call("booking.get", "b1"),
        call("booking.unapplied_payments", "b1"),
        call("fees.create_load", "l1", "u1", "u2", "EUR"),
        call("fees.complete_load", "l1"),
        call("fees.deduct_service_fee", "l1", 5, 0),
        call("fees.refund_service_fee", "l1", "dispute"),
        call("fees.get_load", "l1"),
        call("fees.platform_revenue", "EUR"),
        call("tuition.create_assessment", "s1", "PHP", terms),
        call("tuition.submit_payment", "s1", 1, 200, "p1"),
        call("tuition.awaiting_approval"),
        ("tuition.approve_payment", "payment:p1", ()),
        call("tuition.submit_payment", "s1", 1, 300, "p2"),
        ("tuition.reject_payment", "payment:p2", ()),
        call("tuition.overview", "s1"),
        call("ledger.grant_tenant", GRANTEE),
        call("ledger.revoke_tenant", GRANTEE),
    ]


def resolve(probe: Probe, t: str, fn: str, query: str) -> tuple[str, tuple[Any, ...]]:
    """Calls on an entry, a payment or the last seal: its id (digest) looked up first, then
    passed as a value."""
    kind, key = query.split(":", 1)
    if kind == "seal":
        found = probe.admin.execute(
            "SELECT digest FROM ledger.seal WHERE tenant_id = %s ORDER BY seal_no DESC LIMIT 1",
            (t,),
        ).fetchone()
    elif kind == "entry":
        found = probe.admin.execute(
            "SELECT entry_id FROM ledger.entry WHERE tenant_id = %s AND idempotency_key = %s",
            (t, key),
        ).fetchone()
    else:
        found = probe.admin.execute(
            "SELECT payment_id FROM tuition.payment WHERE tenant_id = %s AND reference = %s",
            (t, key),
        ).fetchone()
    assert found is not None, (fn, key)
    extra: tuple[Any, ...] = {"ledger.capture": (None,), "ledger.reverse": (),
                              "tuition.approve_payment": ("clerk",),
                              "tuition.reject_payment": ("unreadable",)}.get(fn, ())  # fmt: skip
    if fn == "ledger.reverse":
        return f"SELECT * FROM {fn}(%s, %s, %s, NULL, '{{}}')", (t, f"r-{key}", found[0])
    marks = ", ".join(["%s"] * (2 + len(extra)))
    return f"SELECT * FROM {fn}({marks})", (t, found[0], *extra)


def test_a_query_without_its_tenant_is_seen_fanning_out(probe: Probe, tenant: str) -> None:
    """The counter can fail: a query that does not name the tenant touches every shard."""
    touched = probe.touches("SELECT count(*) FROM ledger.account")
    assert len({probe.group[s] for s in touched.shards}) > 2
    assert probe.strays(tenant, touched) != []


def test_account_calls_touch_one_shard_group(probe: Probe, tenant: str) -> None:
    for fn, query, params in calls(tenant)[:1] + calls(tenant)[4:5]:
        touched = probe.touches(query, params)
        assert touched.shards, (fn, touched.lines)
        assert probe.strays(tenant, touched) == [], (fn, touched.lines)


@needs_engine
def test_every_api_call_touches_one_shard_group(probe: Probe, tenant: str) -> None:
    scenario = calls(tenant)
    assert {fn for fn, _, _ in scenario} == public_functions(probe.admin)
    report: dict[str, list[str]] = {}
    for fn, query, params in scenario:
        if query.startswith(("entry:", "payment:", "seal:")):
            query, params = resolve(probe, tenant, fn, query)
        touched = probe.touches(query, params)
        assert touched.shards, (fn, touched.lines)  # the probe sees the call at all
        strays = probe.strays(tenant, touched)
        # Delegated: the coordinator sent the call itself to the worker (log_remote_commands).
        name = fn.split(".")[1].strip('"')
        if fn not in SPANNING and not any(
            line.startswith("issuing") and f".{name}(" in line.replace('"', "")
            for line in touched.lines
        ):
            strays.append("not delegated")
        if strays:
            report[fn] = strays
    assert report == {}
