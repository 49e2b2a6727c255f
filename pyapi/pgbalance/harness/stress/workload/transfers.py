"""The `transfers` scenario: the kernel under contention.

Six hot EUR accounts (floor 0, the last one capped), an unbounded bank account and a USD
account. Workers fire transfers (a fifth of them overdrafts), holds, captures and voids of
the same few pending holds, partial reversals of the same few posted entries, exact
duplicates of requests other workers are sending right now, the same key with another
amount, and cross-currency transfers.

The oracle reads the tenant's entries and postings and holds them against the history:
per key exactly one entry matching every acknowledged call and none for rejected ones; per
hold never both captured and voided, captured for the acknowledged amount; per posted entry
the acknowledged reversals add up to what the entry says; and every account's balance and
pending columns equal what the acknowledged calls imply, starting from the funded state.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from psycopg.types.json import Jsonb

from pgbalance.harness.stress.model import Anomaly, Call, Conn, Op
from pgbalance.harness.stress.workload.base import (
    EntryView,
    Recent,
    Scenario,
    account_balances,
    compare_balances,
    exactly_once,
    load_entries,
)

TRANSFER_REJECTS = frozenset({"PB001", "PB002", "PB003"})
HOLD_REJECTS = frozenset({"PB001", "PB002", "PB003"})
CAPTURE_REJECTS = frozenset({"PB002", "PB003", "PB004"})
VOID_REJECTS = frozenset({"PB004"})
REVERSE_REJECTS = frozenset({"PB001", "PB002", "PB003", "PB004"})
MISMATCH_REJECTS = frozenset({"PB006"})
# An item of a batch: a transfer's refusals; in an atomic batch that failed, the items other
# than the failing one are recorded as ROLLED_BACK.
ITEM_REJECTS = TRANSFER_REJECTS | MISMATCH_REJECTS
ROLLED_BACK = "rolled-back"

_ENTRY = "SELECT entry_id, status, replayed FROM "


@dataclass(frozen=True)
class Held:
    entry_id: int
    amount: int
    src: str
    dst: str


@dataclass(frozen=True)
class Posted:
    entry_id: int
    amount: int
    src: str
    dst: str


class Transfers(Scenario):
    name = "transfers"
    requires: ClassVar[tuple[str, ...]] = (
        "ledger.transfer",
        "ledger.hold",
        "ledger.capture",
        "ledger.void",
        "ledger.reverse",
        "ledger.transfer_batch",
        "ledger.verify",
    )
    # Batches join the mix (the naive variant has no batch pattern of its own).
    batches: ClassVar[bool] = True
    weight = 2.0
    prefix = "tr-"
    funding = 100_000
    cap = 150_000

    def __init__(self, tenant: str, seed: int) -> None:
        super().__init__(tenant, seed)
        self.bank = f"{self.prefix}bank"
        self.usd = f"{self.prefix}usd"
        self.hot = [f"{self.prefix}a{i}" for i in range(6)]
        self.capped = self.hot[-1]
        self.recent: Recent[Call] = Recent(8)
        self.recent_transfers: Recent[Call] = Recent(8)
        self.holds: Recent[Held] = Recent(5)
        self.posted: Recent[Posted] = Recent(8)
        self.initial: dict[str, dict[str, int]] = {}

    @property
    def codes(self) -> list[str]:
        return [self.bank, self.usd, *self.hot]

    # -- setup ---------------------------------------------------------------------------
    def setup(self, conn: Conn) -> None:
        t = self.tenant
        open_sql = "SELECT * FROM ledger.open_account(%s, %s, %s, %s::bigint, %s::bigint)"
        conn.execute(open_sql, (t, self.bank, "EUR", None, None))
        conn.execute(open_sql, (t, self.usd, "USD", None, None))
        for code in self.hot:
            conn.execute(open_sql, (t, code, "EUR", 0, self.cap if code == self.capped else None))
            amount = self.funding // 2 if code == self.capped else self.funding
            conn.execute(
                _ENTRY + "ledger.transfer(%s, %s, %s, %s, %s::bigint)",
                (t, f"{self.prefix}fund-{code}", self.bank, code, amount),
            )
        self.initial = self.balances(conn)

    def balances(self, conn: Conn) -> dict[str, dict[str, int]]:
        return account_balances(conn, self.tenant, self.codes)

    # -- calls (overridden by the naive variant) -----------------------------------------
    def transfer_call(
        self, key: str, src: str, dst: str, amount: int, allowed: frozenset[str] = TRANSFER_REJECTS
    ) -> Call:
        return Call(
            self.name,
            "transfer",
            key,
            {"key": key, "src": src, "dst": dst, "amount": amount},
            allowed,
            _ENTRY + "ledger.transfer(%s, %s, %s, %s, %s::bigint)",
            (self.tenant, key, src, dst, amount),
        )

    def hold_call(self, key: str, src: str, dst: str, amount: int) -> Call:
        return Call(
            self.name,
            "hold",
            key,
            {"key": key, "src": src, "dst": dst, "amount": amount},
            HOLD_REJECTS,
            _ENTRY + "ledger.hold(%s, %s, %s, %s, %s::bigint)",
            (self.tenant, key, src, dst, amount),
        )

    def capture_call(self, hold: Held, amount: int | None) -> Call:
        return Call(
            self.name,
            "capture",
            f"hold:{hold.entry_id}",
            {
                "entry_id": hold.entry_id,
                "amount": amount,
                "held": hold.amount,
                "src": hold.src,
                "dst": hold.dst,
            },
            CAPTURE_REJECTS,
            _ENTRY + "ledger.capture(%s, %s::bigint, %s::bigint)",
            (self.tenant, hold.entry_id, amount),
        )

    def void_call(self, hold: Held) -> Call:
        return Call(
            self.name,
            "void",
            f"hold:{hold.entry_id}",
            {"entry_id": hold.entry_id, "held": hold.amount, "src": hold.src, "dst": hold.dst},
            VOID_REJECTS,
            _ENTRY + "ledger.void(%s, %s::bigint)",
            (self.tenant, hold.entry_id),
        )

    def reverse_call(self, key: str, target: Posted, amount: int) -> Call:
        return Call(
            self.name,
            "reverse",
            key,
            {
                "key": key,
                "entry_id": target.entry_id,
                "amount": amount,
                "src": target.src,
                "dst": target.dst,
            },
            REVERSE_REJECTS,
            _ENTRY + "ledger.reverse(%s, %s, %s::bigint, %s::bigint)",
            (self.tenant, key, target.entry_id, amount),
        )

    def batch_call(self, items: list[tuple[str, str, str, int]], atomic: bool) -> Call:
        payload = [{"key": k, "from": f, "to": t, "amount": a} for k, f, t, a in items]
        return Call(
            self.name,
            "batch",
            f"batch:{next(self._seq)}",
            {"items": tuple(items), "atomic": atomic},
            ITEM_REJECTS if atomic else frozenset(),
            "SELECT idx, entry_id, status, replayed, error_code"
            " FROM ledger.transfer_batch(%s, %s, %s)",
            (self.tenant, Jsonb(payload), atomic),
        )

    # -- the workload --------------------------------------------------------------------
    def _pair(self, rng: random.Random) -> tuple[str, str]:
        src, dst = rng.sample(self.hot, 2)
        roll = rng.random()
        if roll < 0.08:
            src = self.bank  # refill
        elif roll < 0.16:
            dst = self.bank  # drain
        return src, dst

    def _amount(self, rng: random.Random) -> int:
        if rng.random() < 0.2:
            return rng.randint(self.funding, 4 * self.funding)  # usually an overdraft
        return rng.randint(1, self.funding // 5)

    def next_call(self, rng: random.Random, worker: int) -> Call | None:
        roll = rng.random()
        if roll < 0.20:
            dup = self.recent.pick(rng)  # the same request another worker is sending
            if dup is not None:
                return dup
        if roll < 0.23:
            prev = self.recent_transfers.pick(rng)
            if prev is not None:  # the same key with another amount
                a = prev.args
                return self.transfer_call(a["key"], a["src"], a["dst"], a["amount"] + 1)
        if self.batches and 0.55 <= roll < 0.60:
            items = []
            for _ in range(rng.randint(2, 4)):
                prev = self.recent_transfers.pick(rng) if rng.random() < 0.3 else None
                if prev is not None:  # a key a single transfer uses too (replay or PB003)
                    a = prev.args
                    bump = 1 if rng.random() < 0.2 else 0
                    items.append((a["key"], a["src"], a["dst"], a["amount"] + bump))
                else:
                    src, dst = self._pair(rng)
                    items.append((self.fresh(f"{self.prefix}b"), src, dst, self._amount(rng)))
            call = self.batch_call(items, atomic=rng.random() < 0.4)
            self.recent.push(call)
            return call
        if roll < 0.60:
            src, dst = self._pair(rng)
            call = self.transfer_call(self.fresh(f"{self.prefix}t"), src, dst, self._amount(rng))
            self.recent.push(call)
            self.recent_transfers.push(call)
            return call
        if roll < 0.72:
            src, dst = self._pair(rng)
            held = rng.randint(1, self.funding // 3)
            call = self.hold_call(self.fresh(f"{self.prefix}h"), src, dst, held)
            self.recent.push(call)
            return call
        if roll < 0.88:
            hold = self.holds.pick(rng)
            if hold is None:
                return None
            if roll < 0.80:
                pick = rng.random()
                if pick < 0.5:
                    amount: int | None = None
                elif pick < 0.65:
                    amount = hold.amount
                elif pick < 0.9:
                    amount = rng.randint(1, hold.amount)
                else:
                    amount = hold.amount + rng.randint(1, 100)  # above the hold: PB002
                return self.capture_call(hold, amount)
            return self.void_call(hold)
        if roll < 0.97:
            target = self.posted.pick(rng)
            if target is None:
                return None
            share = rng.random()
            part = target.amount if share < 0.3 else max(1, int(target.amount * share / 2))
            call = self.reverse_call(self.fresh(f"{self.prefix}r"), target, part)
            self.recent.push(call)
            return call
        src = rng.choice(self.hot)
        return self.transfer_call(
            self.fresh(f"{self.prefix}x"), src, self.usd, rng.randint(1, 1000), MISMATCH_REJECTS
        )

    def observe(self, op: Op) -> None:
        if not op.ok:
            return
        a, row = op.call.args, op.row
        if op.call.kind == "batch":
            for r in op.rows:
                if r["error_code"] is None and r["entry_id"] is not None:
                    _, src, dst, amount = a["items"][int(r["idx"]) - 1]
                    self.posted.push(Posted(int(r["entry_id"]), amount, src, dst))
        elif op.call.kind == "transfer":
            self.posted.push(Posted(int(row["entry_id"]), a["amount"], a["src"], a["dst"]))
        elif op.call.kind == "hold":
            self.holds.push(Held(int(row["entry_id"]), a["amount"], a["src"], a["dst"]))
        elif op.call.kind == "capture" and not op.replayed:
            amount = a["amount"] if a["amount"] is not None else a["held"]
            self.posted.push(Posted(a["entry_id"], amount, a["src"], a["dst"]))

    # -- the oracle ----------------------------------------------------------------------
    def entries(self, conn: Conn) -> list[EntryView]:
        """Every entry of the scenario, from the ledger's own tables (read as superuser)."""
        return load_entries(conn, self.tenant, self.prefix)

    def expand(self, ops: list[Op]) -> tuple[list[Op], list[Anomaly]]:
        """Batches as the transfers they are: one op per item, with the batch's first
        outcome (indeterminate included) and the item's own result, so every key is judged
        the same way whether it came alone or in a batch."""
        out: list[Op] = []
        bad: list[Anomaly] = []
        for op in ops:
            if op.call.kind != "batch":
                out.append(op)
                continue
            items, atomic = op.call.args["items"], op.call.args["atomic"]
            rows = {int(r["idx"]): r for r in op.rows}
            failing = re.match(r"idx=(\d+)", op.detail or "")
            if op.ok and len(rows) != len(items):
                bad.append(Anomaly("batch", op.call.subject, f"{len(rows)} rows: {op.describe()}"))
            if op.ok and atomic and any(r["error_code"] for r in rows.values()):
                bad.append(Anomaly("batch", op.call.subject, f"atomic, partly refused: {op.rows}"))
            for i, (key, src, dst, amount) in enumerate(items, start=1):
                call = self.transfer_call(key, src, dst, amount, ITEM_REJECTS | {ROLLED_BACK})
                item = Op(op.id, op.worker, call, op.first, op.outcome, None, [], op.attempts)
                row = rows.get(i)
                if op.ok and row is not None and row["error_code"] is None:
                    item.rows = [{k: row[k] for k in ("entry_id", "status", "replayed")}]
                elif op.ok:
                    item.outcome = "rejected"
                    item.sqlstate = row["error_code"] if row is not None else "?"
                elif op.outcome == "rejected":
                    is_failing = failing is not None and int(failing.group(1)) == i
                    item.sqlstate = op.sqlstate if is_failing else ROLLED_BACK
                if item.outcome == "rejected" and item.sqlstate not in call.allowed:
                    bad.append(
                        Anomaly(
                            "unexpected_sqlstate",
                            f"batch item {key}",
                            f"{item.sqlstate}: {op.describe()}",
                        )
                    )
                out.append(item)
        return out, bad

    def check(self, conn: Conn, ops: list[Op]) -> list[Anomaly]:
        ops, out = self.expand(ops)
        entries = self.entries(conn)
        by_key: dict[str, list[EntryView]] = {}
        for e in entries:
            by_key.setdefault(e.key, []).append(e)
        by_id = {e.entry_id: e for e in entries}
        for key, es in by_key.items():
            if len(es) > 1:
                ids = [e.entry_id for e in es]
                out.append(Anomaly("one_entry_per_key", key, f"{len(es)} entries: {ids}"))

        keyed: dict[str, list[Op]] = {}
        holds: dict[int, list[Op]] = {}
        reversals: dict[int, list[Op]] = {}
        for op in ops:
            kind = op.call.kind
            if kind in ("transfer", "hold", "reverse"):
                keyed.setdefault(op.call.subject, []).append(op)
            if kind in ("capture", "void"):
                holds.setdefault(int(op.call.args["entry_id"]), []).append(op)
            if kind == "reverse":
                reversals.setdefault(int(op.call.args["entry_id"]), []).append(op)

        for key, group in keyed.items():
            es = by_key.get(key, [])
            entry = es[0] if es else None
            kind = group[0].call.kind
            out += exactly_once(
                f"exactly_once_{kind}",
                key,
                group,
                entry,
                lambda call, e=entry: e is not None and _matches(e, call),  # type: ignore[misc]
            )
            for op in group:
                got = op.row.get("entry_id")
                if op.ok and entry is not None and got is not None and int(got) != entry.entry_id:
                    out.append(
                        Anomaly(
                            f"exactly_once_{kind}",
                            key,
                            f"acknowledged entry {got}, key holds {entry.entry_id}",
                        )
                    )

        hold_ids = {int(op.row["entry_id"]) for op in ops if op.call.kind == "hold" and op.ok}
        captured: dict[int, int] = {}
        for entry_id in sorted(hold_ids | set(holds)):
            hold = by_id.get(entry_id)
            group = holds.get(entry_id, [])
            if hold is None:
                out.append(Anomaly("hold_state", f"entry {entry_id}", "hold not found"))
                continue
            problems, amount = _hold_problems(hold, group)
            out += [Anomaly("hold_state", f"entry {entry_id} ({hold.key})", p) for p in problems]
            if amount is not None:
                captured[entry_id] = amount

        for entry_id, group in reversals.items():
            target = by_id.get(entry_id)
            if target is None:
                continue
            oks = {op.call.subject: op for op in group if op.ok}
            total = sum(int(op.call.args["amount"]) for op in oks.values())
            subject = f"entry {entry_id} ({target.key})"
            if total != target.reversed_amount:
                out.append(
                    Anomaly(
                        "reversal_total",
                        subject,
                        f"acknowledged reversals add to {total}, "
                        f"entry says reversed_amount={target.reversed_amount}",
                    )
                )
            if total > target.amount:
                out.append(
                    Anomaly(
                        "reversal_total",
                        subject,
                        f"reversed {total} of an entry of {target.amount}",
                    )
                )
            if (target.status == "reversed") != (target.reversed_amount == target.amount):
                out.append(
                    Anomaly(
                        "reversal_total",
                        subject,
                        f"status {target.status} with {target.reversed_amount} "
                        f"of {target.amount} reversed",
                    )
                )
            for op in group:
                if op.outcome != "rejected":
                    continue
                if op.sqlstate == "PB004" and target.status != "reversed":
                    out.append(
                        Anomaly(
                            "reversal_total",
                            subject,
                            f"PB004 but the entry is {target.status}: {op.describe()}",
                        )
                    )
                remaining = target.amount - target.reversed_amount
                # PB002 is also the ceiling of the account the reversal pays back into.
                into_capped = op.call.args["src"] == self.capped
                if (
                    op.sqlstate == "PB002"
                    and int(op.call.args["amount"]) <= remaining
                    and (not into_capped)
                ):
                    out.append(
                        Anomaly(
                            "reversal_total",
                            subject,
                            f"PB002 although {remaining} remains: {op.describe()}",
                        )
                    )

        out += compare_balances(
            "balances_match_history", self.expected_balances(ops, captured), self.balances(conn)
        )
        return out

    def expected_balances(
        self, ops: Iterable[Op], captured: dict[int, int]
    ) -> dict[str, dict[str, int]]:
        """The initial balances plus every acknowledged call's effect, once per key."""
        bal = {code: dict(cols) for code, cols in self.initial.items()}

        def add(code: str, col: str, amount: int) -> None:
            cols = bal.setdefault(code, {"balance": 0, "pending_out": 0, "pending_in": 0})
            cols[col] += amount

        done: set[str] = set()
        voided: set[int] = set()
        for op in ops:
            if op.ok and op.call.kind == "void":
                voided.add(int(op.call.args["entry_id"]))
        for op in ops:
            a = op.call.args
            if not op.ok or op.call.kind not in ("transfer", "hold", "reverse"):
                continue
            if op.call.subject in done:
                continue
            done.add(op.call.subject)
            if op.call.kind == "transfer":
                add(a["src"], "balance", -a["amount"])
                add(a["dst"], "balance", a["amount"])
            elif op.call.kind == "reverse":
                add(a["src"], "balance", a["amount"])
                add(a["dst"], "balance", -a["amount"])
            else:
                entry_id = int(op.row["entry_id"])
                if entry_id in captured:
                    add(a["src"], "balance", -captured[entry_id])
                    add(a["dst"], "balance", captured[entry_id])
                elif entry_id not in voided:
                    add(a["src"], "pending_out", a["amount"])
                    add(a["dst"], "pending_in", a["amount"])
        return bal


def _matches(entry: EntryView, call: Call) -> bool:
    a = call.args
    if call.kind == "transfer":
        return (
            entry.leg("B") == {a["src"]: -a["amount"], a["dst"]: a["amount"]}
            and entry.reverses is None
            and entry.status != "pending"
            and not entry.leg("O")
        )
    if call.kind == "hold":
        return entry.leg("O") == {a["src"]: a["amount"]} and entry.leg("I") == {
            a["dst"]: a["amount"]
        }
    if call.kind == "reverse":
        return (
            entry.reverses == a["entry_id"]
            and entry.amount == a["amount"]
            and entry.leg("B") == {a["src"]: a["amount"], a["dst"]: -a["amount"]}
        )
    return False


def _hold_problems(hold: EntryView, ops: list[Op]) -> tuple[list[str], int | None]:
    """What is wrong with one hold given the captures and voids made on it, and the amount it
    was captured for (None when it was not)."""
    problems: list[str] = []
    captures = [op for op in ops if op.call.kind == "capture"]
    voids = [op for op in ops if op.call.kind == "void"]
    cap_ok = [op for op in captures if op.ok]
    void_ok = [op for op in voids if op.ok]
    held = hold.leg("I")
    held_amount = next(iter(held.values()), 0)
    if cap_ok and void_ok:
        problems.append(
            f"both captured and voided: {cap_ok[0].describe()}; {void_ok[0].describe()}"
        )
    for name, group in (("capture", cap_ok), ("void", void_ok)):
        fresh = [op for op in group if not op.replayed]
        if len(fresh) > 1:
            problems.append(f"{name} applied {len(fresh)} times")
        if (
            group
            and not fresh
            and not any(op.was_indeterminate for op in ops if op.call.kind == name)
        ):
            problems.append(f"{name} acknowledged only as replays, none of ours made it")
    explicit = {op.call.args["amount"] for op in cap_ok if op.call.args["amount"] is not None}
    if len(explicit) > 1:
        problems.append(f"captures acknowledged for different amounts {sorted(explicit)}")
    amount: int | None = None
    if cap_ok:
        amount = next(iter(explicit)) if len(explicit) == 1 else held_amount
        if hold.status not in ("posted", "reversed"):
            problems.append(f"capture acknowledged, hold is {hold.status}")
        elif hold.amount != amount:
            problems.append(f"captured {hold.amount}, acknowledged capture of {amount}")
    elif void_ok:
        if hold.status != "voided":
            problems.append(f"void acknowledged, hold is {hold.status}")
    elif hold.status != "pending" and not any(op.outcome == "unresolved" for op in ops):
        problems.append(f"hold is {hold.status} but no capture or void was acknowledged")
    for op in ops:
        if op.outcome != "rejected":
            continue
        a: dict[str, Any] = dict(op.call.args)
        if op.call.kind == "capture" and op.sqlstate == "PB004" and hold.status != "voided":
            problems.append(f"capture refused PB004 but the hold is {hold.status}: {op.describe()}")
        if op.call.kind == "void" and op.sqlstate == "PB004" and hold.status == "voided":
            problems.append(f"void refused PB004 but the hold is voided: {op.describe()}")
        if (
            op.call.kind == "capture"
            and op.sqlstate == "PB003"
            and (hold.status not in ("posted", "reversed") or hold.amount == a["amount"])
        ):
            problems.append(
                f"capture refused PB003 but the hold is {hold.status} "
                f"for {hold.amount}: {op.describe()}"
            )
        if (
            op.call.kind == "capture"
            and op.sqlstate == "PB002"
            and (a["amount"] is None or a["amount"] <= held_amount)
        ):
            problems.append(f"capture refused PB002 within the hold: {op.describe()}")
    return problems, amount
