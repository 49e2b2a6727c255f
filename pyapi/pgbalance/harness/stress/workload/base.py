"""What a scenario provides, and the oracle rules every idempotent call shares."""

from __future__ import annotations

import itertools
import random
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from psycopg.rows import dict_row

from pgbalance.harness.stress.model import Anomaly, Call, Conn, Op, Row

T = TypeVar("T")


def fetch(conn: Conn, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Row]:
    """Rows of a read query as dicts."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def fetch_by(conn: Conn, key: str, sql: str, params: Sequence[Any] = ()) -> dict[Any, Row]:
    """Rows of a read query by their `key` column."""
    return {r[key]: r for r in fetch(conn, sql, params)}


def function_exists(conn: Conn, qualified: str) -> bool:
    schema, _, name = qualified.partition(".")
    row = fetch(
        conn,
        "SELECT count(*) AS n FROM pg_proc WHERE pronamespace = to_regnamespace(%s)"
        " AND proname = %s",
        (schema, name),
    )
    return bool(row and row[0]["n"])


@dataclass
class EntryView:
    """A ledger entry as the store shows it (the ledger, or a naive store)."""

    entry_id: int
    key: str
    status: str
    amount: int
    reversed_amount: int
    reverses: int | None
    legs: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> code -> amount

    def leg(self, kind: str) -> dict[str, int]:
        """B: net posted amount per account; O / I: what was held out / in, per account."""
        return {c: a for c, a in self.legs.get(kind, {}).items() if a != 0}


def load_entries(conn: Conn, tenant: str, key_prefix: str) -> list[EntryView]:
    """The tenant's entries whose key starts with key_prefix, with their legs, read from the
    ledger's own tables (the oracle runs as the superuser)."""
    views = {
        int(r["entry_id"]): EntryView(
            int(r["entry_id"]),
            r["idempotency_key"],
            r["status"],
            int(r["amount"]),
            int(r["reversed_amount"]),
            r["reverses_entry_id"],
        )
        for r in fetch(
            conn,
            "SELECT entry_id, idempotency_key, status, amount, reversed_amount,"
            " reverses_entry_id FROM ledger.entry"
            " WHERE tenant_id = %s AND starts_with(idempotency_key, %s)",
            (tenant, key_prefix),
        )
    }
    for r in fetch(
        conn,
        "SELECT p.entry_id, a.code, p.kind::text AS kind,"
        "       sum(p.amount) FILTER (WHERE p.kind = 'B' OR p.amount > 0)::bigint AS amount"
        "  FROM ledger.posting AS p"
        "  JOIN ledger.account AS a USING (tenant_id, account_id)"
        " WHERE p.tenant_id = %s AND p.entry_id = ANY(%s) GROUP BY 1, 2, 3",
        (tenant, list(views)),
    ):
        views[int(r["entry_id"])].legs.setdefault(r["kind"], {})[r["code"]] = int(r["amount"] or 0)
    return list(views.values())


def by_key(entries: Iterable[EntryView]) -> dict[str, EntryView]:
    return {e.key: e for e in entries}


def by_subject(ops: Iterable[Op]) -> dict[str, list[Op]]:
    """The ops grouped by their call's subject (key, reference or object), in run order."""
    groups: dict[str, list[Op]] = {}
    for op in ops:
        groups.setdefault(op.call.subject, []).append(op)
    return groups


def account_balances(conn: Conn, tenant: str, codes: Sequence[str]) -> dict[str, dict[str, int]]:
    """balance / pending_out / pending_in of accounts, through ledger.get_account."""
    rows = fetch(
        conn,
        "SELECT g.code, g.balance, g.pending_out, g.pending_in"
        " FROM unnest(%s::text[]) AS c(code), ledger.get_account(%s, c.code) AS g",
        (list(codes), tenant),
    )
    return {
        r["code"]: {k: int(r[k]) for k in ("balance", "pending_out", "pending_in")} for r in rows
    }


def open_funded_wallets(
    conn: Conn, tenant: str, users: Sequence[str], currency: str, funding: int, prefix: str
) -> None:
    """Open a wallet per user and top it up with `funding` (reference <prefix>fund-<user>)."""
    for user in users:
        conn.execute("SELECT * FROM wallet.open(%s, %s, %s)", (tenant, user, currency))
        conn.execute(
            "SELECT * FROM wallet.topup(%s, %s, %s::bigint, %s)",
            (tenant, user, funding, f"{prefix}fund-{user}"),
        )


def wallet_balances(conn: Conn, tenant: str, users: Sequence[str]) -> dict[str, int]:
    """user -> balance, through wallet.balance."""
    rows = fetch(
        conn,
        "SELECT b.user_id, b.balance FROM unnest(%s::text[]) AS u(user_id),"
        " wallet.balance(%s, u.user_id) AS b",
        (list(users), tenant),
    )
    return {r["user_id"]: int(r["balance"]) for r in rows}


class Recent(Generic[T]):
    """A small shared window of recent items that workers pick from, so several workers
    hit the same key or object at about the same time."""

    def __init__(self, size: int) -> None:
        self._items: deque[T] = deque(maxlen=size)
        self._lock = threading.Lock()

    def push(self, item: T) -> None:
        with self._lock:
            self._items.append(item)

    def pick(self, rng: random.Random) -> T | None:
        with self._lock:
            if not self._items:
                return None
            return self._items[rng.randrange(len(self._items))]

    def snapshot(self) -> list[T]:
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


class Scenario(ABC):
    """A workload over a few hot keys in one tenant, and the oracle for it."""

    name: ClassVar[str]
    # SQL functions that must be deployed for this scenario to run.
    requires: ClassVar[tuple[str, ...]] = ()
    # Relative share of operations in the mixed scenario.
    weight: ClassVar[float] = 1.0
    # What every name the scenario makes starts with (keys, references, users, loads, ...).
    prefix: ClassVar[str]

    def __init__(self, tenant: str, seed: int) -> None:
        self.tenant = tenant
        self.seed = seed
        self._seq = itertools.count(1)

    @classmethod
    def missing(cls, conn: Conn) -> list[str]:
        """The required functions that are not deployed (empty: the scenario can run)."""
        return [fn for fn in cls.requires if not function_exists(conn, fn)]

    def own_rows(
        self, conn: Conn, table: str, columns: str, key: str, named_by: str = ""
    ) -> dict[Any, Row]:
        """The tenant's rows of `table` the scenario made (their `named_by` column, `key` by
        default, starts with its prefix), by `key`."""
        sql = (f"SELECT {columns} FROM {table}"
               f" WHERE tenant_id = %s AND starts_with({named_by or key}, %s)")  # fmt: skip
        return fetch_by(conn, key, sql, (self.tenant, self.prefix))

    def fresh(self, prefix: str) -> str:
        """A new unique name under this scenario's prefix."""
        return f"{prefix}{next(self._seq)}"

    @abstractmethod
    def setup(self, conn: Conn) -> None:
        """Open what the workload needs (one connection, before the workers start)."""

    @abstractmethod
    def next_call(self, rng: random.Random, worker: int) -> Call | None:
        """The next request a worker sends."""

    def observe(self, op: Op) -> None:  # noqa: B027 - optional hook
        """Learn from a finished op (objects to race on next); called by the worker."""

    @abstractmethod
    def check(self, conn: Conn, ops: list[Op]) -> list[Anomaly]:
        """The oracle: what the database and the recorded history must agree on."""

    def teardown(self, conn: Conn) -> None:  # noqa: B027 - optional hook
        """Drop scratch objects (the naive schema) after the oracle has run."""

    def verify(self, conn: Conn) -> list[Row]:
        """Consistency rows of the scenario's own store (the naive schema), if it has one;
        the kernel's ledger.verify() is run by the runner for the whole tenant."""
        return []


# --------------------------------------------------------------------------- oracle rules


def holds(row: Mapping[str, Any] | None, **columns: str) -> Callable[[Call], bool]:
    """Whether a call is the one a stored row (None: absent) holds: row[column] equals the
    call's argument named for it (`user_id="user"`), or its attribute when it has no such
    argument (`kind="kind"`: the call's kind)."""

    def matches(call: Call) -> bool:
        return row is not None and all(
            row[column] == (call.args[arg] if arg in call.args else getattr(call, arg))
            for column, arg in columns.items()
        )

    return matches


def exactly_once(
    check: str,
    subject: str,
    ops: Sequence[Op],
    effect: object | None,
    matches: Callable[[Call], bool],
) -> list[Anomaly]:
    """The exactly-once rules for a group of idempotent calls on one key or object.

    `effect` is what the database holds for the subject (None: nothing), `matches(call)`
    whether it is that call's effect. Every acknowledged call took effect, once; no rejected
    one did; an idempotency conflict (PB003) only when the key holds a different call.
    """
    out: list[Anomaly] = []

    def bad(detail: str) -> None:
        out.append(Anomaly(check, subject, detail))

    oks = [op for op in ops if op.ok]
    unresolved = any(op.outcome == "unresolved" for op in ops)
    for op in oks:
        if effect is None:
            bad(f"acknowledged but absent from the database: {op.describe()}")
        elif not matches(op.call):
            bad(f"acknowledged, but the database holds another call: {op.describe()}")
    distinct = _distinct_args(op.call for op in oks)
    if len(distinct) > 1:
        bad(f"{len(distinct)} different calls acknowledged for one key: {distinct}")
    if oks and not oks[0].call.reports_replay:
        results = {tuple(sorted(op.row.items())) for op in oks}
        if len(results) > 1:
            bad(f"one call, {len(results)} different results: {sorted(results)[:3]}")
        fresh = oks  # nothing to count: the results must agree instead
    else:
        fresh = [op for op in oks if not op.replayed]
    if len(fresh) > 1 and oks[0].call.reports_replay:
        listed = "; ".join(op.describe() for op in fresh[:4])
        bad(f"applied {len(fresh)} times (replayed=false more than once): {listed}")
    if oks and not fresh:
        lost = [
            op for op in ops if op.was_indeterminate and any(op.call.same_args(o.call) for o in oks)
        ]
        if not lost:
            bad(f"acknowledged only as replays, but none of our calls made it: {oks[0].describe()}")
    if effect is not None and not unresolved and not any(matches(op.call) for op in oks):
        took = [op for op in ops if matches(op.call)]
        what = took[0].describe() if took else "no call of the run"
        bad(f"took effect without an acknowledgement ({what})")
    for op in ops:
        if op.outcome == "rejected" and op.sqlstate == "PB003":
            if effect is None:
                bad(f"PB003 but the key holds nothing: {op.describe()}")
            elif matches(op.call):
                bad(f"PB003 although the key holds this very call: {op.describe()}")
    return out


def _distinct_args(calls: Iterable[Call]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for call in calls:
        args = dict(call.args)
        if args not in seen:
            seen.append(args)
    return seen


def compare_balances(
    check: str,
    expected: dict[str, dict[str, int]],
    actual: dict[str, dict[str, int]],
) -> list[Anomaly]:
    """Per account and column, what the history says against what the database says."""
    out: list[Anomaly] = []
    for code in sorted(set(expected) | set(actual)):
        want, got = expected.get(code, {}), actual.get(code, {})
        diffs = [
            f"{col}: history says {want.get(col, 0)}, database says {got.get(col, 0)}"
            for col in sorted(set(want) | set(got))
            if want.get(col, 0) != got.get(col, 0)
        ]
        if diffs:
            out.append(Anomaly(check, code, "; ".join(diffs)))
    return out


def took_effect_once(check: str, subject: str, ops: Sequence[Op], happened: bool) -> list[Anomaly]:
    """The rules for a state change idempotent by state (capture, void, fail, refund, approve,
    reject): acknowledged -> it happened, applied at most once (replayed=false at most once),
    replays only after a call of ours did it, and it never happened without an acknowledgement.
    """
    out: list[Anomaly] = []
    oks = [op for op in ops if op.ok]
    fresh = [op for op in oks if not op.replayed]
    if oks and not happened:
        out.append(
            Anomaly(check, subject, f"acknowledged, not in the database: {oks[0].describe()}")
        )
    if len(fresh) > 1:
        listed = "; ".join(op.describe() for op in fresh[:4])
        out.append(Anomaly(check, subject, f"applied {len(fresh)} times: {listed}"))
    if oks and not fresh and not any(op.was_indeterminate for op in ops):
        out.append(
            Anomaly(
                check,
                subject,
                f"acknowledged only as replays, none of ours made it: {oks[0].describe()}",
            )
        )
    if happened and not oks and not any(op.outcome == "unresolved" for op in ops):
        first = ops[0].describe() if ops else "no call of the run"
        out.append(Anomaly(check, subject, f"took effect without an acknowledgement ({first})"))
    return out


def sum_by(pairs: Iterable[tuple[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, amount in pairs:
        out[key] = out.get(key, 0) + amount
    return out
