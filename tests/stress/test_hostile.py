"""Hostile input: every public SQL function of every schema, called as the application role.

Each call starts from a valid one (a recipe per function sets up what it needs through the
contract: a pending hold to capture, a completed load to charge, a submitted payment to
approve, ...), and about half of them then get ONE parameter replaced by something hostile:
NULLs, zero/negative/huge amounts, bigint edges, empty and very long names, unicode,
SQL-looking strings, wrong currencies, another tenant's names, malformed JSON. So the calls
get past the first input check and reach the rules and the money, one bad input at a time.

Each call either succeeds (and then the ledger still verifies and every tenant still sums to
zero per currency) or fails with a SQLSTATE the contract documents. A call runs in a
savepoint of an outer transaction that goes on after it: a failed call must leave that
session as it found it (no lock, no pgbalance setting left behind). Per function, at least
one call must succeed and, unless the tenant is its only parameter, at least one must be
refused by a rule other than the first input check (a SQLSTATE other than 22023). The
functions are discovered from the catalog; a function with a recipe that is gone is a failure.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg.types.json import Jsonb

from pgbalance import errors

pytestmark = pytest.mark.slow

SCHEMAS = ("ledger", "wallet", "booking", "fees", "tuition")
# The contract's error table: anything else from a public function is a finding.
DOCUMENTED = frozenset(errors.BY_SQLSTATE)
# Random calls per function, after the deterministic sweep (edges).
EXAMPLES = 20

OWN, OTHER = "hostile-own", "hostile-other"
OWN_NAMES = ["acct-a", "acct-b", "acct-usd", "acct-bank", "seed-1", "seed-hold", "user-1",
             "user-2", "ref-1", "bk-1", "pay-1", "dep-1", "load-1", "stu-1"]  # fmt: skip
OTHER_NAMES = ["other-acct", "other-user", "other-ref", "other-bk", "other-load", "other-stu"]
SQLISH = [
    "'; DROP TABLE ledger.account; --", "' OR '1'='1", "acct-a'--", "pgb:wallet:user-1",
    "pgb:", "%", "_", "\\", "$$", "NULL", "null", "ȼ€😀", " ", "\t", "a\nb", "ledger.account",
    "Robert'); DROP TABLE wallet.tx;--", "acct-a ", " acct-a", "ACCT-A",
]  # fmt: skip
CURRENCIES = ["EUR", "USD", "eur", "EU", "EURO", "XXX", "€", "", "E1R", "MYR"]

# PostgreSQL text and jsonb cannot hold NUL; surrogates cannot be encoded.
_chars = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))
_plain = st.text(_chars, max_size=30)
_long = st.text(_chars, min_size=170, max_size=420)
_bigint_edges = [0, -1, 1, 2, 99, 100, 10_000, 2**31, 2**53 + 1, 2**63 - 1, -(2**63), -(2**63) + 1]


# Names a parameter is likely to be given: existing ones (of both tenants) and fresh ones.
KNOWN = {
    "p_code": ["acct-a", "acct-b", "acct-usd", "acct-bank", "other-acct", "acct-new"],
    "p_key": ["seed-1", "seed-hold", "fund-acct-a", "fund-other-acct", "key-new"],
    "p_user": ["user-1", "user-2", "other-user", "user-new"],
    "p_reference": ["ref-1", "top-user-1", "tp-stu-1", "other-ref", "ref-new"],
    "p_payment_ref": ["dep-bk-1", "pay-1", "dep-other-bk", "pay-new"],
    "p_booking": ["bk-1", "other-bk", "bk-new"],
    "p_load": ["load-1", "other-load", "load-new"],
    "p_student": ["stu-1", "other-stu", "stu-new"],
}
KNOWN |= {"p_from": KNOWN["p_code"], "p_to": KNOWN["p_code"],
          "p_shipper": KNOWN["p_user"], "p_carrier": KNOWN["p_user"]}  # fmt: skip


def names(param: str = "") -> st.SearchStrategy[str | None]:
    known = st.sampled_from(KNOWN.get(param, OWN_NAMES + OTHER_NAMES))
    return st.one_of(
        known,
        known,
        known,
        st.sampled_from(SQLISH),
        st.just(""),
        st.none(),
        _plain,
        _long,
    )


def bigints(ids: list[int]) -> st.SearchStrategy[int | None]:
    return st.one_of(
        st.none(),
        st.sampled_from(_bigint_edges + ids) if ids else st.sampled_from(_bigint_edges),
        st.integers(-(2**63), 2**63 - 1),
        st.integers(1, 20_000),
    )


def json_numbers() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(_bigint_edges + [2**63, -(2**63) - 1, 2**70, 0.5, 1e20, -0.0]),
        st.integers(-(2**64), 2**64),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(_chars, max_size=8),
        st.none(),
    )


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(_chars, max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_plain, inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


def legs() -> st.SearchStrategy[Any]:
    leg = st.fixed_dictionaries(
        {"account": names(), "amount": json_numbers()},
        optional={"extra": _json},
    )
    return st.one_of(
        st.lists(leg, max_size=4), st.lists(st.dictionaries(_plain, _json), max_size=3)
    )


def terms() -> st.SearchStrategy[Any]:
    term = st.fixed_dictionaries({"name": names(), "amount": json_numbers()})
    return st.lists(term, max_size=4)


def batch() -> st.SearchStrategy[Any]:
    item = st.fixed_dictionaries(
        {"key": names(), "from": names(), "to": names(), "amount": json_numbers()},
        optional={"metadata": _json},
    )
    return st.lists(item, max_size=3)


def jsons(param: str) -> st.SearchStrategy[Any]:
    shaped = {"p_legs": legs(), "p_terms": terms(), "p_transfers": batch()}.get(param)
    generic = st.one_of(_json, st.dictionaries(_plain, _json, max_size=3))
    wrapped = (shaped | generic) if shaped is not None else generic
    return st.one_of(st.none(), wrapped.map(Jsonb))


def timestamps() -> st.SearchStrategy[datetime | None]:
    now = datetime.now(UTC)
    return st.one_of(
        st.none(),
        st.sampled_from([now - timedelta(days=1), now + timedelta(days=1), now]),
        st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=st.just(UTC)),
    )


@dataclass(frozen=True)
class Function:
    schema: str
    name: str
    params: list[str]
    types: list[str]
    # Who may call it: the application, else the auditor (ledger.verify), else "" for the
    # owner only (grant_tenant, revoke_tenant), called as the test's own role.
    role: str = "pgbalance_app"

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def statement(self) -> sql.Composed:
        args = sql.SQL(", ").join(
            sql.SQL("%s::{}").format(sql.SQL(t)) for t in self.types
        )  # the types come from the catalog (format_type), not from the input
        return sql.SQL("SELECT * FROM {}.{}({})").format(
            sql.Identifier(self.schema), sql.Identifier(self.name), args
        )


def discover(conn: psycopg.Connection[Any], schema: str) -> list[Function]:
    rows = conn.execute(
        "SELECT p.proname, p.proargnames[1:p.pronargs],"
        "       array(SELECT format_type(t, NULL) FROM unnest(p.proargtypes::oid[])"
        "             WITH ORDINALITY AS u(t, o) ORDER BY o),"
        "       CASE WHEN has_function_privilege('pgbalance_app', p.oid, 'EXECUTE')"
        "            THEN 'pgbalance_app'"
        "            WHEN has_function_privilege('pgbalance_auditor', p.oid, 'EXECUTE')"
        "            THEN 'pgbalance_auditor' ELSE '' END"
        "  FROM pg_proc AS p"
        " WHERE p.pronamespace = to_regnamespace(%s) AND p.proname !~ '^_' AND p.prokind = 'f'"
        "   AND p.prorettype <> 'trigger'::regtype ORDER BY 1",
        (schema,),
    ).fetchall()
    return [
        Function(schema, name, list(params or []), list(types), role)
        for name, params, types, role in rows
    ]


def arguments(fn: Function, ids: list[int]) -> st.SearchStrategy[tuple[Any, ...]]:
    parts: list[st.SearchStrategy[Any]] = []
    for param, typ in zip(fn.params, fn.types, strict=True):
        if param == "p_tenant":
            parts.append(st.one_of(st.sampled_from([OWN, OWN, OTHER]), names()))
        elif param == "p_currency":
            parts.append(st.one_of(st.sampled_from(CURRENCIES), names()))
        elif typ in ("text", "name"):  # name: the role of grant_tenant / revoke_tenant
            parts.append(names(param))
        elif typ == "bigint":
            parts.append(bigints(ids))
        elif typ == "integer":
            parts.append(st.one_of(st.none(), st.sampled_from([0, -1, 1, 2, 3, 4, 2**31 - 1,
                                                              -(2**31)]),
                                   st.integers(-(2**31), 2**31 - 1)))  # fmt: skip
        elif typ == "boolean":
            parts.append(st.one_of(st.none(), st.booleans()))
        elif typ == "jsonb":
            parts.append(jsons(param))
        elif typ.startswith("timestamp"):
            parts.append(timestamps())
        else:
            raise AssertionError(f"{fn.qualified}: no strategy for a {typ} parameter ({param})")
    return st.tuples(*parts)


def calls(fn: Function, ids: list[int]) -> st.SearchStrategy[tuple[int | None, tuple[Any, ...]]]:
    """(which parameter to break, None: none; hostile values for every parameter). The head of
    a permutation: spread evenly, where one_of and integers lean to their first choice."""
    which = st.permutations([None, None, *range(len(fn.params))]).map(lambda p: p[0])
    return st.tuples(which, arguments(fn, ids))


def edges(fn: Function, ids: list[int]) -> list[tuple[int, Any]]:
    """The deterministic sweep before the random calls: every parameter in turn replaced by
    each of a few values that matter (NULL, empty, another tenant, each existing name,
    zero, negative, the bigint edge, real ids, empty JSON)."""
    out: list[tuple[int, Any]] = []
    for k, (param, typ) in enumerate(zip(fn.params, fn.types, strict=True)):
        values: list[Any] = [None]
        if param == "p_tenant":
            values += [OTHER, "", "x" * 300]
        elif param == "p_currency":
            values += ["USD", "eur", "XXX", ""]
        elif typ == "text":
            values += ["", *KNOWN.get(param, ["acct-a", "user-1", "other-ref", "ref-1"])]
        elif typ in ("bigint", "integer"):
            values += [0, -1, 2**31 - 1 if typ == "integer" else 2**63 - 1, *ids[:3], *ids[-3:]]
        elif typ == "jsonb":
            values += [Jsonb({}), Jsonb([]), Jsonb("x")]
        elif typ.startswith("timestamp"):
            values += [datetime(1900, 1, 1, tzinfo=UTC)]
        out += [(k, v) for v in values]
    return out


# --------------------------------------------------------------------------- the world


def seed(conn: psycopg.Connection[Any]) -> None:
    """Two tenants with a little of everything, so names and ids in the inputs hit things."""
    x = "SELECT * FROM "
    for t, codes in ((OWN, ["acct-a", "acct-b", "acct-bank"]), (OTHER, ["other-acct"])):
        conn.execute(x + "ledger.open_account(%s, %s, 'EUR', NULL, NULL)", (t, f"{t}-bank"))
        for code in codes:
            low = None if code == "acct-bank" else 0
            conn.execute(x + "ledger.open_account(%s, %s, 'EUR', %s::bigint, NULL)", (t, code, low))
            if code != "acct-bank":
                conn.execute(x + "ledger.transfer(%s, %s, %s, %s, 10000)",
                             (t, f"fund-{code}", f"{t}-bank", code))  # fmt: skip
    conn.execute(x + "ledger.open_account(%s, 'acct-usd', 'USD', 0, NULL)", (OWN,))
    conn.execute(x + "ledger.transfer(%s, 'seed-1', 'acct-a', 'acct-b', 500)", (OWN,))
    conn.execute(x + "ledger.hold(%s, 'seed-hold', 'acct-a', 'acct-b', 100)", (OWN,))
    for t, users, ref, bk, load, stu in (
        (OWN, ["user-1", "user-2"], "ref-1", "bk-1", "load-1", "stu-1"),
        (OTHER, ["other-user", "other-user-2"], "other-ref", "other-bk", "other-load",
         "other-stu"),
    ):  # fmt: skip
        for user in users:
            conn.execute(x + "wallet.open(%s, %s, 'EUR')", (t, user))
            conn.execute(x + "wallet.topup(%s, %s, 5000, %s)", (t, user, f"top-{user}"))
        conn.execute(x + "wallet.purchase(%s, %s, 700, %s)", (t, users[0], ref))
        conn.execute(x + "booking.create(%s, %s, 1000, 200, 'EUR')", (t, bk))
        conn.execute(x + "booking.record_deposit(%s, %s, 200, %s)", (t, bk, f"dep-{bk}"))
        conn.execute(x + "fees.create_load(%s, %s, %s, %s, 'EUR')", (t, load, users[0], users[1]))
        conn.execute(x + "fees.complete_load(%s, %s)", (t, load))
        two_terms = Jsonb([{"name": "T1", "amount": 3000}, {"name": "T2", "amount": 2000}])
        conn.execute(x + "tuition.create_assessment(%s, %s, 'EUR', %s)", (t, stu, two_terms))
        conn.execute(x + "tuition.submit_payment(%s, %s, 1, 1000, %s)", (t, stu, f"tp-{stu}"))


# The role grant_tenant / revoke_tenant name: tenants go only to login roles (22023 for a
# group role), and nobody logs in as this one, so binding it changes nothing else here.
GRANTEE = f"pgb_hostile_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def world(dsn: str) -> Iterator[tuple[psycopg.Connection[Any], psycopg.Connection[Any]]]:
    """(owner connection, application connection) on a seeded database."""
    with (
        psycopg.connect(dsn, autocommit=True) as owner,
        psycopg.connect(dsn, autocommit=True) as app,
    ):
        seed(owner)
        owner.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(GRANTEE)))
        try:
            yield owner, app
        finally:
            owner.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(GRANTEE)))


# --------------------------------------------------------------------------- valid calls

Args = dict[str, Any]
TWO_TERMS = Jsonb([{"name": "T1", "amount": 3000}, {"name": "T2", "amount": 2000}])
X = "SELECT * FROM "


def _hold(p: Prober) -> int:
    return int(p.setup(X + "ledger.hold(%s, %s, 'acct-bank', 'acct-b', 10)", (OWN, p.fresh("h"))))


def _posted(p: Prober) -> int:
    key = p.fresh("t")
    return int(p.setup(X + "ledger.transfer(%s, %s, 'acct-bank', 'acct-a', 10)", (OWN, key)))


def _account(p: Prober, low: int | None) -> str:
    code = p.fresh("acct")
    p.setup(X + "ledger.open_account(%s, %s, 'EUR', %s::bigint, NULL)", (OWN, code, low))
    return code


def _purchase(p: Prober) -> str:
    ref = p.fresh("pu")
    p.setup(X + "wallet.purchase(%s, 'user-2', 10, %s)", (OWN, ref))
    return ref


def _booking(p: Prober, deposit: bool) -> str:
    bk = p.fresh("bk")
    p.setup(X + "booking.create(%s, %s, 1000, 200, 'EUR')", (OWN, bk))
    if deposit:
        p.setup(X + "booking.record_deposit(%s, %s, 200, %s)", (OWN, bk, p.fresh("dep")))
    return bk


def _load(p: Prober, complete: bool, deduct: bool = False) -> str:
    load = p.fresh("load")
    p.setup(X + "fees.create_load(%s, %s, 'user-1', 'user-2', 'EUR')", (OWN, load))
    if complete:
        p.setup(X + "fees.complete_load(%s, %s)", (OWN, load))
    if deduct:
        p.setup(X + "fees.deduct_service_fee(%s, %s, 10, 5)", (OWN, load))
    return load


def _student(p: Prober) -> str:
    student = p.fresh("stu")
    p.setup(X + "tuition.create_assessment(%s, %s, 'EUR', %s)", (OWN, student, TWO_TERMS))
    return student


def _payment(p: Prober) -> int:
    student = _student(p)
    sql_ = "SELECT payment_id FROM tuition.submit_payment(%s, %s, 1, 1000, %s)"
    return int(p.setup(sql_, (OWN, student, p.fresh("ref"))))


def _granted(p: Prober) -> str:
    p.setup("SELECT ledger.grant_tenant(%s, %s)", (OWN, GRANTEE))
    return GRANTEE


def _seal(p: Prober) -> int:
    return int(p.setup("SELECT seal_no FROM ledger.seal(%s)", (OWN,)))


def _entry(p: Prober) -> int:
    return int(p.setup("SELECT entry_id FROM ledger.entry WHERE tenant_id = %s"
                       " AND idempotency_key = 'seed-1'", (OWN,)))  # fmt: skip


# A valid call of every function (p_tenant is OWN unless given), with what it needs set up.
RECIPES: dict[str, Callable[[Prober], Args]] = {
    # A definition none of the seeded names has: one of them there is a conflict (PB003).
    "ledger.open_account": lambda p: {"p_code": p.fresh("acct"), "p_currency": "EUR",
                                      "p_min_balance": 0, "p_max_balance": 10**9,
                                      "p_metadata": Jsonb({})},
    "ledger.get_account": lambda p: {"p_code": "acct-a"},
    "ledger.close_account": lambda p: {"p_code": _account(p, 0)},
    "ledger.set_account_stripes": lambda p: {"p_code": _account(p, None), "p_stripes": 4},
    "ledger.transfer": lambda p: {"p_key": p.fresh("t"), "p_from": "acct-a",
                                  "p_to": "acct-b", "p_amount": 7, "p_metadata": Jsonb({})},
    "ledger.post_entry": lambda p: {
        "p_key": p.fresh("e"), "p_metadata": Jsonb({}), "p_pending": False,
        "p_legs": Jsonb([{"account": "acct-a", "amount": -5},
                         {"account": "acct-b", "amount": 5}])},
    "ledger.hold": lambda p: {"p_key": p.fresh("h"), "p_from": "acct-a", "p_to": "acct-b",
                              "p_amount": 9, "p_metadata": Jsonb({})},
    "ledger.capture": lambda p: {"p_entry_id": _hold(p), "p_amount": 6},
    "ledger.void": lambda p: {"p_entry_id": _hold(p)},
    "ledger.expire_holds": lambda p: {},
    "ledger.reverse": lambda p: {"p_key": p.fresh("r"), "p_entry_id": _posted(p),
                                 "p_amount": 4, "p_metadata": Jsonb({})},
    "ledger.get_entry": lambda p: {"p_entry_id": _entry(p)},
    "ledger.balance_at": lambda p: {"p_code": "acct-a", "p_at": datetime.now(UTC)},
    "ledger.statement": lambda p: {"p_code": "acct-a", "p_since": datetime(2000, 1, 1, tzinfo=UTC),
                                   "p_until": datetime.now(UTC) + timedelta(days=1)},
    "ledger.transfer_batch": lambda p: {
        "p_atomic": True, "p_transfers": Jsonb([
            {"key": p.fresh("b"), "from": "acct-a", "to": "acct-b", "amount": 3},
            {"key": p.fresh("b"), "from": "acct-b", "to": "acct-a", "amount": 2}])},
    "ledger.verify": lambda p: {},
    "ledger.statement_page": lambda p: {"p_code": "acct-a", "p_after": None, "p_limit": 10},
    # A well-formed digest no seal has: the call succeeds and reports it not reproduced.
    "ledger.verify_seal": lambda p: {"p_digest": "0" * 64},
    "ledger.archive": lambda p: {"p_seal_no": _seal(p)},
    "ledger.grant_tenant": lambda p: {"p_role": GRANTEE},
    "ledger.revoke_tenant": lambda p: {"p_role": _granted(p)},
    "wallet.open": lambda p: {"p_user": p.fresh("user"), "p_currency": "USD"},
    "wallet.balance": lambda p: {"p_user": "user-1"},
    "wallet.history": lambda p: {"p_user": "user-1"},
    "wallet.topup": lambda p: {"p_user": "user-1", "p_amount": 50, "p_reference": p.fresh("tp")},
    "wallet.purchase": lambda p: {"p_user": "user-1", "p_amount": 20,
                                  "p_reference": p.fresh("pu"), "p_items": Jsonb([])},
    "wallet.fail_purchase": lambda p: {"p_reference": _purchase(p), "p_reason": "out of stock"},
    "booking.create": lambda p: {"p_booking": p.fresh("bk"), "p_total": 1500, "p_deposit": 300,
                                 "p_currency": "EUR"},
    "booking.record_deposit": lambda p: {"p_booking": _booking(p, False), "p_amount": 200,
                                         "p_payment_ref": p.fresh("dep")},
    "booking.complete_balance_payment": lambda p: {
        "p_booking": _booking(p, True), "p_amount": 800, "p_payment_ref": p.fresh("pay")},
    "booking.get": lambda p: {"p_booking": "bk-1"},
    "booking.unapplied_payments": lambda p: {"p_booking": "bk-1"},
    "fees.create_load": lambda p: {"p_load": p.fresh("load"), "p_shipper": "user-1",
                                   "p_carrier": "user-2", "p_currency": "EUR"},
    "fees.complete_load": lambda p: {"p_load": _load(p, False)},
    "fees.deduct_service_fee": lambda p: {"p_load": _load(p, True), "p_shipper_fee": 10,
                                          "p_carrier_fee": 5},
    "fees.refund_service_fee": lambda p: {"p_load": _load(p, True, True), "p_reason": "no"},
    "fees.get_load": lambda p: {"p_load": "load-1"},
    "fees.platform_revenue": lambda p: {"p_currency": "EUR"},
    "tuition.create_assessment": lambda p: {"p_student": p.fresh("stu"), "p_currency": "USD",
                                            "p_terms": TWO_TERMS},
    "tuition.submit_payment": lambda p: {"p_student": _student(p), "p_term_no": 1,
                                         "p_amount": 1000, "p_reference": p.fresh("ref")},
    "tuition.approve_payment": lambda p: {"p_payment_id": _payment(p), "p_approver": "dean"},
    "tuition.reject_payment": lambda p: {"p_payment_id": _payment(p), "p_reason": "bounced"},
    "tuition.awaiting_approval": lambda p: {},
    "tuition.overview": lambda p: {"p_student": "stu-1"},
}  # fmt: skip
# Functions whose only rules are the input checks, besides those that take only p_tenant
# (ledger.changes: its limit and its cursor, 22023).
INPUT_RULES_ONLY = frozenset(
    {"fees.platform_revenue", "ledger.grant_tenant", "ledger.revoke_tenant", "ledger.changes",
     "ledger.verify_seal"}
)
# A function without a recipe yet: these existing names, NULL for the rest.
GENERIC = {"p_code": "acct-a", "p_user": "user-1", "p_booking": "bk-1", "p_load": "load-1",
           "p_student": "stu-1", "p_currency": "EUR"}  # fmt: skip

# What a session holds besides its transaction ids. Left out: sequence locks (the top
# transaction's by design: nextval is not rolled back) and the system catalogs' (taken by
# this very query, as its plan goes).
SESSION = (
    "SELECT coalesce(current_setting('pgbalance.applying', true), '') AS applying,"
    "       array(SELECT concat_ws(' ', l.locktype, l.relation::regclass, l.classid, l.objid,"
    "                              l.objsubid, l.mode)"
    "               FROM pg_locks AS l"
    "              WHERE l.pid = pg_backend_pid()"
    "                AND l.locktype NOT IN ('virtualxid', 'transactionid')"
    "                AND (l.relation IS NULL OR l.relation >= 16384)"
    "                AND NOT EXISTS (SELECT FROM pg_sequence AS q WHERE q.seqrelid = l.relation)"
    "              ORDER BY 1) AS locks"
)
CONSERVATION = (
    "SELECT a.tenant_id, a.currency FROM ledger.account AS a,"
    " ledger.get_account(a.tenant_id, a.code) AS g GROUP BY 1, 2"
    " HAVING sum(g.balance) <> 0 OR sum(g.pending_out) <> sum(g.pending_in)"
)


class Prober:
    """Calls one function with generated arguments and judges every outcome."""

    def __init__(self, owner: psycopg.Connection[Any], app: psycopg.Connection[Any]) -> None:
        self.owner, self.app = owner, app
        self.outcomes: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._names = itertools.count(1)

    def fresh(self, prefix: str) -> str:
        return f"{prefix}-fz{next(self._names)}"

    def setup(self, statement: str, params: tuple[Any, ...]) -> Any:
        """What a valid call needs, through the contract, as the owner; the first column."""
        row = self.owner.execute(statement, params).fetchone()
        return row[0] if row else None

    def ids(self) -> list[int]:
        """Entry and payment ids of both tenants, so id parameters often name real things."""
        found = [r[0] for r in self.owner.execute("SELECT entry_id FROM ledger.entry")]
        found += [r[0] for r in self.owner.execute("SELECT payment_id FROM tuition.payment")]
        return sorted({int(i) for i in found})

    def valid(self, fn: Function) -> list[Any]:
        recipe = RECIPES.get(fn.qualified)
        args = {"p_tenant": OWN} | (recipe(self) if recipe else
                                    {p: v for p, v in GENERIC.items() if p in fn.params})
        unknown = set(args) - set(fn.params)
        assert not unknown, f"{fn.qualified}: the recipe names no such parameter {unknown}"
        return [args.get(p) for p in fn.params]

    def damage(self) -> list[str]:
        """What is wrong with the committed state: ledger.verify, then conservation (each on
        its own, so neither hides the other)."""
        problems = [f"ledger.verify: {r}" for r in self.owner.execute(
            "SELECT * FROM ledger.verify()")]  # fmt: skip
        problems += [f"money not conserved in {r}" for r in self.owner.execute(CONSERVATION)]
        return problems

    def session(self) -> tuple[Any, ...]:
        row = self.app.execute(SESSION).fetchone()
        assert row is not None
        return tuple(row)

    def judge(self, fn: Function, broken: int | None, hostile: tuple[Any, ...]) -> None:
        args = self.valid(fn)
        if broken is not None:
            args[broken] = hostile[broken]
        with self.app.transaction():  # the outer transaction, going on after the call
            before = self.session()
            try:
                with self.app.transaction():  # a savepoint
                    self.app.execute(fn.statement(), args).fetchall()
            except psycopg.Error as exc:
                self.outcomes[fn.qualified][exc.sqlstate or "?"] += 1
                assert exc.sqlstate in DOCUMENTED, (
                    f"{fn.qualified}{args!r}: undocumented {exc.sqlstate}: {exc}"
                )
                after = self.session()
                if after != before:  # restored, so that every call is judged on its own
                    self.app.execute("SELECT pg_advisory_unlock_all()")
                assert after == before, (
                    f"{fn.qualified}{args!r} failed ({exc.sqlstate}) yet left in the session:"
                    f" {after} (before: {before})"
                )
                return
        self.outcomes[fn.qualified]["ok"] += 1
        problems = self.damage()
        assert not problems, f"{fn.qualified}{args!r} left: " + "; ".join(problems)

    def probe(self, fn: Function) -> None:
        if fn.role:
            self.app.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(fn.role)))
        try:
            for k, value in edges(fn, self.ids()):
                hostile = [None] * len(fn.params)
                hostile[k] = value
                self.judge(fn, k, tuple(hostile))
            run = settings(
                max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )(given(call=calls(fn, self.ids()))(lambda call: self.judge(fn, *call)))  # fmt: skip
            run()
        finally:
            self.app.execute("RESET ROLE")

    def gaps(self, fn: Function) -> list[str]:
        """What the calls did not reach: a success, a refusal past the input check."""
        seen = self.outcomes[fn.qualified]
        out = []
        if seen["ok"] == 0:
            out.append("no call succeeded")
        if fn.qualified not in INPUT_RULES_ONLY and fn.params != ["p_tenant"] and not (
            set(seen) - {"ok", "22023"}
        ):
            out.append("no call got past the input check (only 22023 refusals)")
        return [f"{fn.qualified}: {g} {dict(seen)}" for g in out]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_hostile_input(
    schema: str, world: tuple[psycopg.Connection[Any], psycopg.Connection[Any]]
) -> None:
    owner, app = world
    functions = discover(owner, schema)
    gone = {q for q in RECIPES if q.startswith(f"{schema}.")} - {f.qualified for f in functions}
    assert not gone, f"functions of the contract not deployed: {sorted(gone)}"
    prober = Prober(owner, app)
    failures: list[str] = []
    for fn in functions:
        try:
            prober.probe(fn)
        except AssertionError as exc:  # keep going: report every function that misbehaves
            failures.append(str(exc).splitlines()[0][:600])
    assert not failures, "\n".join(failures)
    # Per function: the calls reached its rules and its money.
    gaps = [g for fn in functions for g in prober.gaps(fn)]
    assert not gaps, "\n".join(gaps)
    print({fn.qualified: dict(prober.outcomes[fn.qualified]) for fn in functions})


def test_the_prober_goes_red(
    world: tuple[psycopg.Connection[Any], psycopg.Connection[Any]],
) -> None:
    """Deliberately broken functions in a scratch schema: one fails with an undocumented
    SQLSTATE, one leaves a session lock behind when it fails, one 'succeeds' by changing a
    balance behind the posting trigger's back (verify and conservation both see it), and one
    is only ever refused by the input check."""
    owner, app = world
    owner.execute("""
        CREATE SCHEMA naive_probe;
        GRANT USAGE ON SCHEMA naive_probe TO pgbalance_app;
        CREATE FUNCTION naive_probe.undocumented(p_tenant text, p_amount bigint)
        RETURNS bigint LANGUAGE sql AS $$ SELECT p_amount / 0 $$;
        CREATE FUNCTION naive_probe.leaky(p_tenant text, p_amount bigint)
        RETURNS void LANGUAGE plpgsql AS $$ BEGIN
            PERFORM pg_advisory_lock(42);  -- a session lock: outlives the failed statement
            RAISE EXCEPTION 'refused' USING ERRCODE = 'PB001';
        END $$;
        CREATE FUNCTION naive_probe.unprotected_bump(p_tenant text, p_amount bigint)
        RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET session_replication_role = replica
        AS $$ BEGIN
            UPDATE ledger.account SET balance = balance + 1  -- unprotected, on purpose
             WHERE tenant_id = 'hostile-own' AND code = 'acct-a';
        END $$;
        CREATE FUNCTION naive_probe.picky(p_tenant text, p_amount bigint)
        RETURNS void LANGUAGE plpgsql AS $$ BEGIN
            RAISE EXCEPTION 'bad input' USING ERRCODE = '22023';
        END $$;
        GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA naive_probe TO pgbalance_app;
    """)  # a naive scratch schema: the broken functions the prober must catch
    prober = Prober(owner, app)
    params, types = ["p_tenant", "p_amount"], ["text", "bigint"]
    with pytest.raises(AssertionError, match="undocumented 22012"):
        prober.probe(Function("naive_probe", "undocumented", params, types))
    with pytest.raises(AssertionError, match="left in the session.*advisory"):
        prober.probe(Function("naive_probe", "leaky", params, types))
    bump = Function("naive_probe", "unprotected_bump", params, types)
    with pytest.raises(AssertionError, match="ledger.verify.*money not conserved"):
        prober.probe(bump)
    picky = Function("naive_probe", "picky", params, types)
    prober.probe(picky)
    calls = sum(prober.outcomes["naive_probe.picky"].values())
    assert prober.gaps(picky) == [
        f"naive_probe.picky: no call succeeded {{'22023': {calls}}}",
        "naive_probe.picky: no call got past the input check (only 22023 refusals) "
        f"{{'22023': {calls}}}",
    ]
