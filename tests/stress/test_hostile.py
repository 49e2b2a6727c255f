"""Hostile input: every public SQL function of every schema, called as the application role
with NULLs, zero/negative/huge amounts, bigint edges, empty and very long names, unicode,
SQL-looking strings, wrong currencies, another tenant's names and malformed JSON.

Each call either succeeds (and then the ledger still verifies and every tenant still sums to
zero per currency) or fails with a SQLSTATE the contract documents; and a failed call
changes nothing: the content of every table of the five schemas is the same before and
after. The functions are discovered from the catalog, so new ones are covered as they land.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
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
EXAMPLES = 25

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
        "             WITH ORDINALITY AS u(t, o) ORDER BY o)"
        "  FROM pg_proc AS p"
        " WHERE p.pronamespace = to_regnamespace(%s) AND p.proname !~ '^_' AND p.prokind = 'f'"
        "   AND p.prorettype <> 'trigger'::regtype ORDER BY 1",
        (schema,),
    ).fetchall()
    return [Function(schema, name, list(params or []), list(types)) for name, params, types in rows]


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


# --------------------------------------------------------------------------- the world


def _try(conn: psycopg.Connection[Any], statement: str, params: tuple[Any, ...]) -> None:
    """Setup through the contract, as the owner; a function not deployed yet is skipped."""
    try:
        conn.execute(statement, params)
    except psycopg.errors.UndefinedFunction:
        pass


def seed(conn: psycopg.Connection[Any]) -> None:
    """Two tenants with a little of everything, so names and ids in the inputs hit things."""
    x = "SELECT * FROM "
    for t, codes in ((OWN, ["acct-a", "acct-b", "acct-bank"]), (OTHER, ["other-acct"])):
        _try(conn, x + "ledger.open_account(%s, %s, 'EUR', NULL, NULL)", (t, f"{t}-bank"))
        for code in codes:
            low = None if code == "acct-bank" else 0
            _try(conn, x + "ledger.open_account(%s, %s, 'EUR', %s::bigint, NULL)", (t, code, low))
            if code != "acct-bank":
                _try(conn, x + "ledger.transfer(%s, %s, %s, %s, 10000)",
                     (t, f"fund-{code}", f"{t}-bank", code))  # fmt: skip
    _try(conn, x + "ledger.open_account(%s, 'acct-usd', 'USD', 0, NULL)", (OWN,))
    _try(conn, x + "ledger.transfer(%s, 'seed-1', 'acct-a', 'acct-b', 500)", (OWN,))
    _try(conn, x + "ledger.hold(%s, 'seed-hold', 'acct-a', 'acct-b', 100)", (OWN,))
    for t, users, ref, bk, load, stu in (
        (OWN, ["user-1", "user-2"], "ref-1", "bk-1", "load-1", "stu-1"),
        (OTHER, ["other-user", "other-user-2"], "other-ref", "other-bk", "other-load",
         "other-stu"),
    ):  # fmt: skip
        for user in users:
            _try(conn, x + "wallet.open(%s, %s, 'EUR')", (t, user))
            _try(conn, x + "wallet.topup(%s, %s, 5000, %s)", (t, user, f"top-{user}"))
        _try(conn, x + "wallet.purchase(%s, %s, 700, %s)", (t, users[0], ref))
        _try(conn, x + "booking.create(%s, %s, 1000, 200, 'EUR')", (t, bk))
        _try(conn, x + "booking.record_deposit(%s, %s, 200, %s)", (t, bk, f"dep-{bk}"))
        _try(conn, x + "fees.create_load(%s, %s, %s, %s, 'EUR')", (t, load, users[0], users[1]))
        _try(conn, x + "fees.complete_load(%s, %s)", (t, load))
        two_terms = Jsonb([{"name": "T1", "amount": 3000}, {"name": "T2", "amount": 2000}])
        _try(conn, x + "tuition.create_assessment(%s, %s, 'EUR', %s)", (t, stu, two_terms))
        _try(conn, x + "tuition.submit_payment(%s, %s, 1, 1000, %s)", (t, stu, f"tp-{stu}"))


def fingerprint_query(conn: psycopg.Connection[Any]) -> sql.Composed:
    tables = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_class AS c JOIN pg_namespace AS n"
        " ON n.oid = c.relnamespace WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p')"
        " ORDER BY 1, 2",
        (list(SCHEMAS),),
    ).fetchall()
    parts = [
        sql.SQL("SELECT {} AS t, (SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text),"
                " '')) FROM {}.{} AS x) AS h").format(
            sql.Literal(f"{s}.{r}"), sql.Identifier(s), sql.Identifier(r))
        for s, r in tables
    ]  # fmt: skip
    return sql.SQL(" UNION ALL ").join(parts)


@pytest.fixture
def world(dsn: str) -> Iterator[tuple[psycopg.Connection[Any], psycopg.Connection[Any]]]:
    """(owner connection, application connection) on a seeded database."""
    with (
        psycopg.connect(dsn, autocommit=True) as owner,
        psycopg.connect(dsn, autocommit=True) as app,
    ):
        seed(owner)
        yield owner, app


class Prober:
    """Calls one function with generated arguments and judges every outcome."""

    def __init__(self, owner: psycopg.Connection[Any], app: psycopg.Connection[Any]) -> None:
        self.owner, self.app = owner, app
        self.fingerprint = fingerprint_query(owner)
        self.before = self.state()
        self.outcomes: Counter[str] = Counter()

    def state(self) -> dict[str, str]:
        """A digest of every table of the five schemas."""
        return {str(t): str(h) for t, h in self.owner.execute(self.fingerprint).fetchall()}

    def ids(self) -> list[int]:
        """Entry and payment ids of both tenants, so id parameters often name real things."""
        found = [r[0] for r in self.owner.execute("SELECT entry_id FROM ledger.entry")]
        if _has(self.owner, "tuition.payment"):
            found += [r[0] for r in self.owner.execute("SELECT payment_id FROM tuition.payment")]
        return sorted({int(i) for i in found})

    def judge(self, fn: Function, args: tuple[Any, ...]) -> None:
        try:
            self.app.execute(fn.statement(), args).fetchall()
        except psycopg.Error as exc:
            self.outcomes[exc.sqlstate or "?"] += 1
            assert exc.sqlstate in DOCUMENTED, (
                f"{fn.qualified}{args!r}: undocumented {exc.sqlstate}: {exc}"
            )
            after = self.state()
            changed = sorted(k for k in after if after[k] != self.before.get(k))
            assert not changed, (
                f"{fn.qualified}{args!r} failed ({exc.sqlstate}) yet changed {changed}"
            )
            return
        self.outcomes["ok"] += 1
        problems = self.owner.execute("SELECT * FROM ledger.verify()").fetchall()
        assert problems == [], f"{fn.qualified}{args!r} left ledger.verify: {problems}"
        unbalanced = self.owner.execute(
            "SELECT a.tenant_id, a.currency FROM ledger.account AS a,"
            " ledger.get_account(a.tenant_id, a.code) AS g GROUP BY 1, 2"
            " HAVING sum(g.balance) <> 0 OR sum(g.pending_out) <> sum(g.pending_in)"
        ).fetchall()
        assert unbalanced == [], f"{fn.qualified}{args!r}: money not conserved in {unbalanced}"
        self.before = self.state()

    def probe(self, fn: Function) -> None:
        role = "pgbalance_auditor" if fn.qualified == "ledger.verify" else "pgbalance_app"
        self.app.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        try:
            run = settings(
                max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )(given(args=arguments(fn, self.ids()))(lambda args: self.judge(fn, args)))  # fmt: skip
            run()
        finally:
            self.app.execute("RESET ROLE")


@pytest.mark.parametrize("schema", SCHEMAS)
def test_hostile_input(
    schema: str, world: tuple[psycopg.Connection[Any], psycopg.Connection[Any]]
) -> None:
    owner, app = world
    functions = discover(owner, schema)
    if not functions:
        pytest.skip(f"schema {schema} is not deployed")
    prober = Prober(owner, app)
    failures: list[str] = []
    for fn in functions:
        try:
            prober.probe(fn)
        except AssertionError as exc:  # keep going: report every function that misbehaves
            failures.append(str(exc).splitlines()[0][:600])
    assert not failures, "\n".join(failures)
    # The inputs reached the functions' rules: calls were refused, and some went through.
    assert prober.outcomes["22023"] > 0 and prober.outcomes["ok"] > 0, prober.outcomes


def _has(conn: psycopg.Connection[Any], table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    return bool(row and row[0])


def test_the_prober_goes_red(
    world: tuple[psycopg.Connection[Any], psycopg.Connection[Any]],
) -> None:
    """Two deliberately broken functions in a scratch schema: one fails with an undocumented
    SQLSTATE, one 'succeeds' by changing a balance behind the posting trigger's back."""
    owner, app = world
    owner.execute("""
        CREATE SCHEMA naive_probe;
        GRANT USAGE ON SCHEMA naive_probe TO pgbalance_app;
        CREATE FUNCTION naive_probe.undocumented(p_tenant text, p_amount bigint)
        RETURNS bigint LANGUAGE sql AS $$ SELECT p_amount / 0 $$;
        CREATE FUNCTION naive_probe.unprotected_bump(p_tenant text, p_amount bigint)
        RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET session_replication_role = replica
        AS $$ BEGIN
            UPDATE ledger.account SET balance = balance + 1  -- unprotected, on purpose
             WHERE tenant_id = 'hostile-own' AND code = 'acct-a';
        END $$;
        GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA naive_probe TO pgbalance_app;
    """)  # a naive scratch schema: the broken functions the prober must catch
    prober = Prober(owner, app)
    params, types = ["p_tenant", "p_amount"], ["text", "bigint"]
    with pytest.raises(AssertionError, match="undocumented 22012"):
        prober.probe(Function("naive_probe", "undocumented", params, types))
    with pytest.raises(AssertionError, match="ledger.verify"):
        prober.probe(Function("naive_probe", "unprotected_bump", params, types))
