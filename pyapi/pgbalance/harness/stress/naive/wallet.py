"""The wallet workload against the double-deduction pattern: the client reads the balance,
decides, and writes the balance it computed; a failed purchase is refunded when a SELECT
says it has not failed yet; references are checked with a SELECT before the INSERT."""

from __future__ import annotations

from typing import Any

from pgbalance.harness.stress.model import Anomaly, Call, Conn, Op, Rejected, Row
from pgbalance.harness.stress.naive.store import NaiveScenario, think
from pgbalance.harness.stress.workload.base import (
    compare_balances,
    exactly_once,
    holds,
    took_effect_once,
)
from pgbalance.harness.stress.workload.wallet import FAIL_REJECTS, MOVE_REJECTS, Wallet


class NaiveWallet(NaiveScenario, Wallet):
    def setup(self, conn: Conn) -> None:
        self.store.create(conn)
        for user in self.users:
            self.store.rows(conn, "seed", user=user, balance=0)
            self.move_call("topup", user, self.funding, f"{self.prefix}fund-{user}").execute(conn)
        self.initial = self.balances(conn)

    def balances(self, conn: Conn) -> dict[str, int]:
        rows = self.store.rows(conn, "balances")
        return {r["user_id"]: int(r["balance"]) for r in rows}

    def _tx_row(self, tx: Row, replayed: bool) -> list[Row]:
        keys = ("reference", "user_id", "kind", "amount", "status")
        return [{**{k: tx[k] for k in keys}, "replayed": replayed}]

    def move_call(self, kind: str, user: str, amount: int, ref: str, items: Any = None) -> Call:
        st = self.store

        def body(conn: Conn) -> list[Row]:
            seen = st.seen(conn, "tx", {"reference": ref}, user_id=user, kind=kind, amount=amount)
            if seen is not None:
                return self._tx_row(seen, True)
            w = st.one(conn, "wallet", user=user)
            if w is None:
                raise Rejected("PB005")
            if kind == "purchase" and w["balance"] < amount:
                raise Rejected("PB001")
            think()
            new = w["balance"] + (amount if kind == "topup" else -amount)
            st.rows(conn, "set_balance", user=user, balance=new)
            tx = st.rows(conn, "record", reference=ref, user=user, kind=kind, amount=amount)
            return self._tx_row(tx[0], False)

        args = {"ref": ref, "user": user, "amount": amount}
        return st.call(kind, ref, args, MOVE_REJECTS[kind], body)

    def fail_call(self, ref: str, reason: str | None) -> Call:
        st = self.store

        def body(conn: Conn) -> list[Row]:
            tx = st.one(conn, "tx", reference=ref)
            if tx is None:
                raise Rejected("PB005")
            if tx["status"] == "failed":
                return self._tx_row(tx, True)
            if tx["kind"] != "purchase":
                raise Rejected("PB004")
            w = st.one(conn, "wallet", user=tx["user_id"])
            assert w is not None
            think()
            st.rows(conn, "set_balance", user=tx["user_id"], balance=w["balance"] + tx["amount"])
            st.rows(conn, "mark_failed", reference=ref)
            return self._tx_row({**tx, "status": "failed"}, False)

        return st.call("fail_purchase", ref, {"ref": ref}, FAIL_REJECTS, body)

    def check(self, conn: Conn, ops: list[Op]) -> list[Anomaly]:
        out: list[Anomaly] = []
        rows = self.store.rows(conn, "txs")
        txs: dict[str, list[Row]] = {}
        for r in rows:
            txs.setdefault(r["reference"], []).append(r)
        for ref, found in txs.items():
            if len(found) > 1:
                out.append(Anomaly("one_tx_per_reference", ref, f"{len(found)} transactions"))
            for tx in found:
                if tx["refunds"] != (1 if tx["status"] == "failed" else 0):
                    out.append(
                        Anomaly(
                            "one_refund_per_failed_purchase",
                            ref,
                            f"status {tx['status']} with {tx['refunds']} refunds",
                        )
                    )
        groups: dict[str, list[Op]] = {}
        for op in ops:
            groups.setdefault(f"{op.call.kind == 'fail_purchase'}:{op.call.subject}", []).append(op)
        for group in groups.values():
            ref = group[0].call.subject
            first: Row | None = txs[ref][0] if ref in txs else None
            if group[0].call.kind == "fail_purchase":
                failed = first is not None and first["status"] == "failed"
                out += took_effect_once("fail_purchase_once", ref, group, failed)
                continue

            matches = holds(first, user_id="user", kind="kind", amount="amount")
            out += exactly_once("exactly_once_wallet", ref, group, first, matches)
        actual = self.balances(conn)
        out += [
            Anomaly("balance_never_negative", user, f"balance {b}")
            for user, b in actual.items()
            if b < 0
        ]
        out += compare_balances(
            "wallet_balances_match_history",
            {u: {"balance": b} for u, b in self.expected_balances(ops).items()},
            {u: {"balance": b} for u, b in actual.items()},
        )
        return out

    def verify(self, conn: Conn) -> list[Row]:
        """Each naive wallet balance against its own transactions."""
        rows = self.store.rows(conn, "mismatches")
        return [
            {
                "check_name": "naive_wallet_mismatch",
                "tenant": self.tenant,
                "subject": r["user_id"],
                "detail": f"balance={r['balance']} transactions={r['txs']}",
            }
            for r in rows
        ]
