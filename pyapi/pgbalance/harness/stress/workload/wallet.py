"""The `wallet` scenario: top-ups, purchases (a fifth of them overdrafts) and failures of the
same few purchases from several workers at once, with duplicate and conflicting references.

The oracle: per reference exactly one wallet transaction matching every acknowledged call,
and its one kernel entry; a failed purchase has exactly one refund (one kernel reversal, of
the full amount) and was failed by an acknowledged call; every wallet's balance is what the
acknowledged calls imply.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from psycopg.types.json import Jsonb

from pgbalance.harness.stress.model import Anomaly, Call, Conn, Op
from pgbalance.harness.stress.workload.base import (
    Recent,
    Scenario,
    by_key,
    compare_balances,
    exactly_once,
    holds,
    load_entries,
    open_funded_wallets,
    took_effect_once,
    wallet_balances,
)

MOVE_REJECTS = {"topup": frozenset({"PB003"}), "purchase": frozenset({"PB001", "PB003"})}
FAIL_REJECTS = frozenset({"PB004", "PB005"})
CURRENCY = "EUR"


class Wallet(Scenario):
    name = "wallet"
    requires: ClassVar[tuple[str, ...]] = (
        "wallet.open",
        "wallet.topup",
        "wallet.purchase",
        "wallet.fail_purchase",
        "wallet.balance",
    )
    prefix = "wa-"
    funding = 50_000

    def __init__(self, tenant: str, seed: int) -> None:
        super().__init__(tenant, seed)
        self.users = [f"{self.prefix}u{i}" for i in range(4)]
        self.recent: Recent[Call] = Recent(8)
        self.purchases: Recent[str] = Recent(4)
        self.topups: Recent[str] = Recent(4)
        self.initial: dict[str, int] = {}

    def setup(self, conn: Conn) -> None:
        open_funded_wallets(conn, self.tenant, self.users, CURRENCY, self.funding, self.prefix)
        self.initial = self.balances(conn)

    def balances(self, conn: Conn) -> dict[str, int]:
        return wallet_balances(conn, self.tenant, self.users)

    # -- calls ---------------------------------------------------------------------------
    def move_call(self, kind: str, user: str, amount: int, ref: str, items: Any = None) -> Call:
        args = {"ref": ref, "user": user, "amount": amount}
        params: tuple[Any, ...] = (self.tenant, user, amount, ref)
        if kind == "topup":
            sql = "SELECT * FROM wallet.topup(%s, %s, %s::bigint, %s)"
        else:
            sql = "SELECT * FROM wallet.purchase(%s, %s, %s::bigint, %s, %s)"
            params += (Jsonb(items or []),)
        return Call(self.name, kind, ref, args, MOVE_REJECTS[kind], sql, params)

    def fail_call(self, ref: str, reason: str | None) -> Call:
        return Call(
            self.name,
            "fail_purchase",
            ref,
            {"ref": ref},
            FAIL_REJECTS,
            "SELECT * FROM wallet.fail_purchase(%s, %s, %s)",
            (self.tenant, ref, reason),
        )

    def next_call(self, rng: random.Random, worker: int) -> Call | None:
        roll = rng.random()
        if roll < 0.18:
            dup = self.recent.pick(rng)  # the same request another worker is sending
            if dup is not None:
                return dup
        if roll < 0.21:
            prev = self.recent.pick(rng)  # the same reference, another amount
            if prev is not None:
                a = prev.args
                return self.move_call(prev.kind, a["user"], a["amount"] + 1, a["ref"])
        if roll < 0.35:
            ref = self.fresh(f"{self.prefix}tp")
            call = self.move_call("topup", rng.choice(self.users), rng.randint(1, 20_000), ref)
            self.recent.push(call)
            return call
        if roll < 0.70:
            amount = rng.randint(1, 15_000)
            if rng.random() < 0.2:
                amount = rng.randint(self.funding, 4 * self.funding)  # an overdraft
            items = [{"sku": f"sku-{rng.randint(1, 9)}", "qty": rng.randint(1, 3)}]
            ref = self.fresh(f"{self.prefix}pu")
            call = self.move_call("purchase", rng.choice(self.users), amount, ref, items)
            self.recent.push(call)
            return call
        if roll < 0.93:
            ref_ = self.purchases.pick(rng)  # purchase vs failure, failure vs failure
            reason = rng.choice([None, "out of stock", "payment provider timeout"])
            return self.fail_call(ref_, reason) if ref_ is not None else None
        if roll < 0.96:
            topup = self.topups.pick(rng)  # only a purchase can fail: PB004
            return self.fail_call(topup, None) if topup is not None else None
        return self.fail_call(self.fresh(f"{self.prefix}none"), None)  # PB005

    def observe(self, op: Op) -> None:
        if op.ok and op.call.kind == "purchase":
            self.purchases.push(op.call.args["ref"])
        elif op.ok and op.call.kind == "topup":
            self.topups.push(op.call.args["ref"])

    # -- the oracle ----------------------------------------------------------------------
    def check(self, conn: Conn, ops: list[Op]) -> list[Anomaly]:
        out: list[Anomaly] = []
        columns = "reference, user_id, kind, amount, status, entry_id, refund_entry_id"
        txs = self.own_rows(conn, "wallet.tx", columns, "reference")
        entries = by_key(load_entries(conn, self.tenant, "pgb:wallet:"))
        reversals: dict[int, int] = {}
        for e in entries.values():
            if e.reverses is not None:
                reversals[e.reverses] = reversals.get(e.reverses, 0) + 1
        funding, revenue = f"pgb:wallet-funding:{CURRENCY}", f"pgb:wallet-revenue:{CURRENCY}"

        moves: dict[str, list[Op]] = {}
        fails: dict[str, list[Op]] = {}
        for one in ops:
            into = fails if one.call.kind == "fail_purchase" else moves
            into.setdefault(one.call.subject, []).append(one)

        for ref, group in moves.items():
            tx = txs.get(ref)
            matches = holds(tx, user_id="user", kind="kind", amount="amount")
            out += exactly_once("exactly_once_wallet", ref, group, tx, matches)

        for ref, tx in txs.items():
            subject = f"{tx['kind']} {ref}"
            wallet = f"pgb:wallet:{tx['user_id']}"
            entry = entries.get(f"pgb:wallet:tx:{ref}")
            a = int(tx["amount"])
            legs = {funding: -a, wallet: a} if tx["kind"] == "topup" else {wallet: -a, revenue: a}
            if entry is None or entry.entry_id != tx["entry_id"] or entry.leg("B") != legs:
                out.append(
                    Anomaly(
                        "wallet_entry",
                        subject,
                        f"kernel entry {entry} does not match the transaction {tx}",
                    )
                )
                continue
            refund = entries.get(f"pgb:wallet:refund:{ref}")
            failed = tx["status"] == "failed"
            refunds = reversals.get(entry.entry_id, 0)
            if refunds != (1 if failed else 0):
                out.append(
                    Anomaly(
                        "one_refund_per_failed_purchase",
                        subject,
                        f"status {tx['status']} with {refunds} refunds",
                    )
                )
            if failed and (
                refund is None or refund.entry_id != tx["refund_entry_id"] or refund.amount != a
            ):
                out.append(
                    Anomaly(
                        "one_refund_per_failed_purchase",
                        subject,
                        f"refund {refund} does not refund {a}",
                    )
                )
            out += took_effect_once("fail_purchase_once", ref, fails.get(ref, []), failed)

        for ref, group in fails.items():
            tx = txs.get(ref)
            for op in group:
                if op.sqlstate == "PB004" and (tx is None or tx["kind"] != "topup"):
                    out.append(
                        Anomaly("fail_purchase_once", ref, f"PB004 for {tx}: {op.describe()}")
                    )
                if op.sqlstate == "PB005" and tx is not None:
                    out.append(
                        Anomaly("fail_purchase_once", ref, f"PB005 for {tx}: {op.describe()}")
                    )
            if tx is None and any(op.ok for op in group):
                out.append(Anomaly("fail_purchase_once", ref, "failure acknowledged, no purchase"))

        out += compare_balances(
            "wallet_balances_match_history",
            {u: {"balance": b} for u, b in self.expected_balances(ops).items()},
            {u: {"balance": b} for u, b in self.balances(conn).items()},
        )
        return out

    def expected_balances(self, ops: list[Op]) -> dict[str, int]:
        """Initial balances, plus acknowledged top-ups, minus acknowledged purchases, plus the
        refund of every purchase whose failure was acknowledged: once per reference."""
        bal = dict(self.initial)
        seen: set[str] = set()
        bought: dict[str, tuple[str, int]] = {}
        for op in ops:
            a = op.call.args
            if op.ok and op.call.kind in ("topup", "purchase") and a["ref"] not in seen:
                seen.add(a["ref"])
                sign = 1 if op.call.kind == "topup" else -1
                bal[a["user"]] = bal.get(a["user"], 0) + sign * a["amount"]
                if op.call.kind == "purchase":
                    bought[a["ref"]] = (a["user"], a["amount"])
        failed = {op.call.args["ref"] for op in ops if op.ok and op.call.kind == "fail_purchase"}
        for ref in failed & set(bought):
            user, amount = bought[ref]
            bal[user] += amount
        return bal
