"""Damage on purpose, one kind per oracle check, so that each check is seen going red.

A Damage belongs to one scenario's run and names the one check it must trip. `after` runs
between the load and the oracle (StressConfig.tamper, or a test calling the oracle itself
inside a transaction it rolls back) and falsifies the recorded history (an
acknowledged call presented as refused, a 40001 that never surfaced, a call left unresolved,
a call applied twice) or the database (a workflow row pointing at the wrong kernel entry, as
the superuser: the workflow tables have no guards, the ledger's are bypassed with the replica
role). `during` runs before the workers start (StressConfig.sabotage) and breaks the harness
itself. Only tests use these; each damage picks a call of the run it needs and raises
DamageError when the run made none.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from pgbalance.harness.stress.model import Anomaly, Call, Conn, Op
from pgbalance.harness.stress.workload.base import Scenario, fetch
from pgbalance.harness.stress.workload.transfers import REVERSE_REJECTS, VOID_REJECTS, Transfers


class DamageError(RuntimeError):
    """The run made no call of the kind the damage needs (run it longer)."""


History = Callable[[Conn, str, list[Op]], None]


@dataclass(frozen=True)
class Damage:
    scenario: str
    check: str
    what: str
    after: History | None = None
    during: Callable[[list[Scenario]], None] | None = None


def _pick(ops: list[Op], what: str, test: Callable[[Op], bool]) -> Op:
    for op in ops:
        if test(op):
            return op
    raise DamageError(f"the run made no {what}")


def _rejected(kind: str, sqlstate: str) -> Callable[[Op], bool]:
    return lambda op: op.call.kind == kind and op.outcome == "rejected" and op.sqlstate == sqlstate


def _fresh_ok(kind: str) -> Callable[[Op], bool]:
    return lambda op: op.call.kind == kind and op.ok and not op.replayed


def _as_superuser(conn: Conn, statement: str, params: tuple[Any, ...]) -> None:
    """A change made behind every guard (the superuser's repair door)."""
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        cur = conn.execute(statement, params)
        if cur.rowcount != 1:
            raise DamageError(f"{cur.rowcount} rows damaged, not 1: {statement}")


# --------------------------------------------------------------------------- history


def undocumented_sqlstate(conn: Conn, tenant: str, ops: list[Op]) -> None:
    """An overdraft reported with a SQLSTATE the contract does not give for a transfer."""
    _pick(ops, "refused transfer", _rejected("transfer", "PB001")).sqlstate = "23505"


def serialization_failure(conn: Conn, tenant: str, ops: list[Op]) -> None:
    """A purchase refused with 40001, which the contract promises never surfaces."""
    _pick(ops, "refused purchase", _rejected("purchase", "PB001")).sqlstate = "40001"


def left_unresolved(conn: Conn, tenant: str, ops: list[Op]) -> None:
    """A call whose outcome was never learned, not even by retrying it."""
    op = _pick(ops, "refused transfer", _rejected("transfer", "PB001"))
    op.first, op.outcome, op.sqlstate = "indeterminate", "unresolved", None


def applied_twice(conn: Conn, tenant: str, ops: list[Op]) -> None:
    """A transfer acknowledged as freshly applied twice (replayed=false both times)."""
    op = _pick(ops, "transfer", _fresh_ok("transfer"))
    ops.append(replace(op, id=-1, rows=[dict(r) for r in op.rows]))


def rejected_took_effect(conn: Conn, tenant: str, ops: list[Op]) -> None:
    """Every acknowledgement of a booking's creation presented as a refusal: the booking is
    there, although no call made it."""
    first = _pick(ops, "created booking", _fresh_ok("create"))
    for op in ops:
        if op.call.subject == first.call.subject and op.ok:
            op.outcome, op.sqlstate, op.rows = "rejected", "PB003", []


def captured_and_voided(conn: Conn, tenant: str, ops: list[Op]) -> None:
    """A void acknowledged for a hold that a capture took."""
    capture = _pick(ops, "capture", _fresh_ok("capture"))
    args = {k: capture.call.args[k] for k in ("entry_id", "held", "src", "dst")}
    void = Call("transfers", "void", capture.call.subject, args, VOID_REJECTS)
    row = {"entry_id": args["entry_id"], "status": "voided", "replayed": False}
    ops.append(Op(id=-1, worker=0, call=void, first="ok", outcome="ok", rows=[row]))


def refused_within_the_remainder(conn: Conn, tenant: str, ops: list[Op]) -> None:
    """A reversal of 1 refused as over the limit (PB002) on an entry nothing reversed yet."""
    reversed_ids = {op.call.args["entry_id"] for op in ops if op.call.kind == "reverse"}
    target = _pick(
        ops,
        "transfer out of an uncapped account, never reversed",
        lambda op: (
            _fresh_ok("transfer")(op)
            and op.call.args["src"] != Transfers("", 0).capped  # PB002 is its ceiling too
            and int(op.row["entry_id"]) not in reversed_ids
        ),
    )
    a = target.call.args
    key = "tr-damage-r"
    args = {
        "key": key,
        "entry_id": int(target.row["entry_id"]),
        "amount": 1,
        "src": a["src"],
        "dst": a["dst"],
    }
    call = Call("transfers", "reverse", key, args, REVERSE_REJECTS)
    ops.append(
        Op(id=-1, worker=0, call=call, first="rejected", outcome="rejected", sqlstate="PB002")
    )


def completion_unacknowledged(conn: Conn, tenant: str, ops: list[Op]) -> None:
    """Every call completing one load (one the run created) taken out of the history: it is
    complete, and nobody asked."""
    created = {op.call.args["load"] for op in ops if op.call.kind == "create_load" and op.ok}
    done = _pick(
        ops,
        "completed load of its own",
        lambda op: op.call.kind == "complete_load" and op.ok and op.call.args["load"] in created,
    )
    ops[:] = [op for op in ops if op.call.subject != done.call.subject]


# --------------------------------------------------------------------------- database


def _point_at_next(conn: Conn, tenant: str, table: str, key: str, link: str, where: str,
                   what: str) -> None:  # fmt: skip
    """The first of the tenant's rows of `table` matching `where` (by `key`) made to point its
    `link` at the second's."""
    rows = fetch(conn, f"SELECT {key}, {link} FROM {table} WHERE tenant_id = %s AND {where}"
                 f" ORDER BY {key} LIMIT 2", (tenant,))  # fmt: skip
    if len(rows) < 2:
        raise DamageError(f"the run left fewer than two {what}")
    _as_superuser(conn, f"UPDATE {table} SET {link} = %s WHERE tenant_id = %s AND {key} = %s",
                  (rows[1][link], tenant, rows[0][key]))  # fmt: skip


def _point_at_own(conn: Conn, tenant: str, table: str, key: str, link: str, own: str,
                  where: str, what: str) -> None:  # fmt: skip
    """The first of the tenant's rows of `table` matching `where` made to point its `link` at
    its own `own` entry."""
    rows = fetch(conn, f"SELECT {key} FROM {table} WHERE tenant_id = %s AND {where}"
                 f" ORDER BY {key} LIMIT 1", (tenant,))  # fmt: skip
    if not rows:
        raise DamageError(f"the run left no {what}")
    _as_superuser(conn, f"UPDATE {table} SET {link} = {own} WHERE tenant_id = %s AND {key} = %s",
                  (tenant, rows[0][key]))  # fmt: skip


def topup_on_another_entry(conn: Conn, tenant: str, ops: list[Op]) -> None:
    """A top-up whose wallet transaction points at another top-up's kernel entry."""
    _point_at_next(conn, tenant, "wallet.tx", "reference", "entry_id", "kind = 'topup'",
                   "top-ups")  # fmt: skip


def refund_dropped(conn: Conn, tenant: str, ops: list[Op]) -> None:
    """A failed purchase whose refund is its own purchase entry: the refund is gone."""
    _point_at_own(conn, tenant, "wallet.tx", "reference", "refund_entry_id", "entry_id",
                  "status = 'failed'", "failed purchase")  # fmt: skip


def payment_on_another_entry(conn: Conn, tenant: str, ops: list[Op]) -> None:
    """An applied booking payment pointing at another payment's kernel entry."""
    _point_at_next(conn, tenant, "booking.payment", "payment_ref", "entry_id", "applied",
                   "applied payments")  # fmt: skip


def unapplied_list_loses_payments(conn: Conn, tenant: str, ops: list[Op]) -> None:
    """booking.unapplied_payments replaced, in this database, by one that lists nothing: the
    payments kept for a refund are lost to whoever reads the list."""
    if not any(op.ok and op.row.get("already_paid") for op in ops):
        raise DamageError("the run acknowledged no payment as already paid")
    conn.execute("""
        CREATE OR REPLACE FUNCTION booking.unapplied_payments(p_tenant text, p_booking text)
        RETURNS TABLE (payment_ref text, amount bigint, received_at timestamptz, reason text)
        LANGUAGE sql STABLE AS $$ SELECT NULL::text, NULL::bigint, NULL::timestamptz,
        NULL::text WHERE false $$""")  # damage: a broken release of the function


def refund_entry_is_the_fee(conn: Conn, tenant: str, ops: list[Op]) -> None:
    """A refunded load whose refund entry is its fee entry: the refund is gone."""
    _point_at_own(conn, tenant, "fees.load", "load_id", "refund_entry_id", "fee_entry_id",
                  "fee_status = 'REFUNDED'", "refunded fee")  # fmt: skip


def hold_of_another_payment(conn: Conn, tenant: str, ops: list[Op]) -> None:
    """A tuition payment pointing at another payment's ledger hold."""
    _point_at_next(conn, tenant, "tuition.payment", "payment_id", "hold_entry_id", "true",
                   "payments")  # fmt: skip


# --------------------------------------------------------------------------- the harness


class Saboteur(Scenario):
    """Joins the run and makes one call that raises an error no worker expects: the worker
    that makes it dies, as on a harness bug."""

    name = "saboteur"
    requires: ClassVar[tuple[str, ...]] = ()

    def __init__(self, tenant: str, seed: int) -> None:
        super().__init__(tenant, seed)
        self.fired = threading.Event()

    def setup(self, conn: Conn) -> None:
        pass

    def next_call(self, rng: Any, worker: int) -> Call | None:
        if self.fired.is_set():
            return None
        self.fired.set()
        return Call(self.name, "die", "die", {}, frozenset(), routine=_die)

    def check(self, conn: Conn, ops: list[Op]) -> list[Anomaly]:
        return []


def _die(conn: Conn) -> list[Any]:
    raise RuntimeError("sabotage: a bug in the harness")


def worker_dies(scenarios: list[Scenario]) -> None:
    scenarios.append(Saboteur(scenarios[0].tenant, scenarios[0].seed))


DAMAGES: dict[str, Damage] = {
    d.check + (f" ({d.what})" if d.check.startswith("exactly_once") else ""): d
    for d in (
        Damage(
            "transfers",
            "unexpected_sqlstate",
            "23505 for an overdraft",
            after=undocumented_sqlstate,
        ),
        Damage("wallet", "never_surfaces", "40001 injected", after=serialization_failure),
        Damage("transfers", "unresolved", "an op left unresolved", after=left_unresolved),
        Damage("fees", "harness", "a worker dies", during=worker_dies),
        Damage("transfers", "hold_state", "captured and voided", after=captured_and_voided),
        Damage(
            "transfers",
            "reversal_total",
            "PB002 within the remainder",
            after=refused_within_the_remainder,
        ),
        Damage("wallet", "wallet_entry", "top-up on another entry", after=topup_on_another_entry),
        Damage(
            "booking", "payment_posting", "payment on another entry", after=payment_on_another_entry
        ),
        Damage(
            "booking",
            "nothing_lost",
            "unapplied payments not listed",
            after=unapplied_list_loses_payments,
        ),
        Damage("fees", "one_refund", "refund dropped", after=refund_entry_is_the_fee),
        Damage(
            "fees", "complete_once", "completion unacknowledged", after=completion_unacknowledged
        ),
        Damage("tuition", "payment_hold", "hold of another payment", after=hold_of_another_payment),
        Damage("wallet", "one_refund_per_failed_purchase", "refund dropped", after=refund_dropped),
        Damage(
            "booking",
            "exactly_once_booking_create",
            "a refused call took effect",
            after=rejected_took_effect,
        ),
        Damage("transfers", "exactly_once_transfer", "applied twice", after=applied_twice),
    )
}
