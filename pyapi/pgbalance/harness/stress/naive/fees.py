"""The fees workload against the split-writes pattern: the client reads the load's fee
status and the wallets, then writes each wallet, the revenue and the status separately,
with values it computed; the status flag and the balances are two authorities."""

from __future__ import annotations

import random

from pgbalance.harness.stress.model import Anomaly, Call, Conn, Op, Rejected, Row
from pgbalance.harness.stress.naive.store import NaiveScenario, refuse_if_different, think
from pgbalance.harness.stress.workload.base import (
    by_subject,
    compare_balances,
    exactly_once,
    holds,
    took_effect_once,
)
from pgbalance.harness.stress.workload.fees import (
    COMPLETE_REJECTS,
    CREATE_REJECTS,
    CURRENCY,
    DEDUCT_REJECTS,
    REFUND_REJECTS,
    TOPUP_REJECTS,
    Fees,
    Load,
)


class NaiveFees(NaiveScenario, Fees):
    def setup(self, conn: Conn) -> None:
        st = self.store
        st.create(conn)
        st.rows(conn, "open_revenue", currency=CURRENCY)
        for user in self.parties:
            st.rows(conn, "open_wallet", user=user, balance=self.funding)
        for i in range(2):
            self.setup_load(conn, random.Random(f"{self.seed}:naive-fees:{i}"))
        self.initial = self.balances(conn)
        self.initial_revenue = self.revenue(conn)

    def balances(self, conn: Conn) -> dict[str, int]:
        rows = self.store.rows(conn, "balances")
        return {r["user_id"]: int(r["balance"]) for r in rows}

    def revenue(self, conn: Conn) -> int:
        row = self.store.one(conn, "revenue", currency=CURRENCY)
        return int(row["amount"]) if row else 0

    def _load(self, conn: Conn, load: str) -> Row:
        row = self.store.one(conn, "load", load=load)
        if row is None:
            raise Rejected("PB005")
        return row

    def _out(self, row: Row, replayed: bool = False) -> list[Row]:
        keys = ("status", "fee_status", "shipper_fee", "carrier_fee")
        return [{"load": row["load_id"], **{k: row[k] for k in keys}, "replayed": replayed}]

    def _wallet(self, conn: Conn, user: str) -> int:
        row = self.store.one(conn, "wallet", user=user)
        return int(row["balance"]) if row else 0

    def _set_wallet(self, conn: Conn, user: str, balance: int) -> None:
        self.store.rows(conn, "set_wallet", user=user, balance=balance)

    def create_call(self, load: Load) -> Call:
        st = self.store

        def body(conn: Conn) -> list[Row]:
            parties = {"shipper": load.shipper, "carrier": load.carrier}
            found = st.seen(conn, "load", {"load": load.load}, **parties)
            if found is not None:
                return self._out(found, True)
            row = st.rows(
                conn, "create_load", load=load.load, shipper=load.shipper, carrier=load.carrier
            )
            return self._out(row[0])

        args = {"load": load.load, "shipper": load.shipper, "carrier": load.carrier}
        return st.call("create_load", f"load:{load.load}", args, CREATE_REJECTS, body)

    def complete_call(self, load: Load) -> Call:
        st = self.store

        def body(conn: Conn) -> list[Row]:
            row = self._load(conn, load.load)
            if row["status"] == "COMPLETED":
                return self._out(row, True)
            st.rows(conn, "complete_load", load=load.load)
            return self._out({**row, "status": "COMPLETED"})

        args = {"load": load.load}
        return st.call("complete_load", f"complete:{load.load}", args, COMPLETE_REJECTS, body)

    def deduct_call(self, load: Load, shipper_fee: int, carrier_fee: int) -> Call:
        st = self.store

        def body(conn: Conn) -> list[Row]:
            row = self._load(conn, load.load)
            if row["fee_status"] != "NONE":
                refuse_if_different(row, shipper_fee=shipper_fee, carrier_fee=carrier_fee)
                return self._out(row, True)
            if row["status"] != "COMPLETED":
                raise Rejected("PB004")
            ws, wc = self._wallet(conn, load.shipper), self._wallet(conn, load.carrier)
            if ws < shipper_fee or wc < carrier_fee:
                raise Rejected("PB001")
            revenue = self.revenue(conn)
            think()
            self._set_wallet(conn, load.shipper, ws - shipper_fee)
            self._set_wallet(conn, load.carrier, wc - carrier_fee)
            st.rows(
                conn, "set_revenue", currency=CURRENCY, amount=revenue + shipper_fee + carrier_fee
            )
            st.rows(
                conn,
                "mark_deducted",
                load=load.load,
                shipper_fee=shipper_fee,
                carrier_fee=carrier_fee,
            )
            return self._out(
                {
                    **row,
                    "fee_status": "DEDUCTED",
                    "shipper_fee": shipper_fee,
                    "carrier_fee": carrier_fee,
                }
            )

        args = {"load": load.load, "shipper_fee": shipper_fee, "carrier_fee": carrier_fee}
        return st.call("deduct", f"deduct:{load.load}", args, DEDUCT_REJECTS, body)

    def refund_call(self, load: Load, reason: str | None) -> Call:
        st = self.store

        def body(conn: Conn) -> list[Row]:
            row = self._load(conn, load.load)
            if row["fee_status"] == "REFUNDED":
                return self._out(row, True)
            if row["fee_status"] == "NONE":
                raise Rejected("PB004")
            ws, wc = self._wallet(conn, load.shipper), self._wallet(conn, load.carrier)
            revenue = self.revenue(conn)
            sf, cf = row["shipper_fee"], row["carrier_fee"]
            think()
            self._set_wallet(conn, load.shipper, ws + sf)
            self._set_wallet(conn, load.carrier, wc + cf)
            st.rows(conn, "set_revenue", currency=CURRENCY, amount=revenue - sf - cf)
            st.rows(conn, "mark_refunded", load=load.load)
            return self._out({**row, "fee_status": "REFUNDED"})

        return st.call("refund", f"refund:{load.load}", {"load": load.load}, REFUND_REJECTS, body)

    def topup_call(self, user: str, amount: int, ref: str) -> Call:
        st = self.store

        def body(conn: Conn) -> list[Row]:
            seen = st.seen(conn, "topup", {"reference": ref}, user_id=user, amount=amount)
            if seen is not None:
                return [{"reference": ref, "replayed": True}]
            balance = self._wallet(conn, user)
            think()
            self._set_wallet(conn, user, balance + amount)
            st.rows(conn, "record_topup", reference=ref, user=user, amount=amount)
            return [{"reference": ref, "replayed": False}]

        args = {"ref": ref, "user": user, "amount": amount}
        return st.call("topup", ref, args, TOPUP_REJECTS, body)

    def check(self, conn: Conn, ops: list[Op]) -> list[Anomaly]:
        out: list[Anomaly] = []
        loads: dict[str, list[Row]] = {}
        for r in self.store.rows(conn, "loads"):
            loads.setdefault(r["load_id"], []).append(r)
        groups = by_subject(ops)
        for lid, rows in loads.items():
            if len(rows) > 1:
                out.append(Anomaly("one_load_per_id", lid, f"{len(rows)} loads"))
            row = rows[0]
            if row["deductions"] > 1 or row["refunds"] > 1:
                out.append(
                    Anomaly(
                        "deduct_once",
                        lid,
                        f"deducted {row['deductions']} times, refunded {row['refunds']} times",
                    )
                )
            out += took_effect_once(
                "deduct_once", lid, groups.get(f"deduct:{lid}", []), row["fee_status"] != "NONE"
            )
            out += took_effect_once(
                "refund_once", lid, groups.get(f"refund:{lid}", []), row["fee_status"] == "REFUNDED"
            )
        topups = {r["reference"]: r for r in self.store.rows(conn, "topups")}
        for subject, group in groups.items():
            if group[0].call.kind != "topup":
                continue
            tx = topups.get(subject)
            same = holds(tx, user_id="user", amount="amount")
            out += exactly_once("exactly_once_topup", subject, group, tx, same)
        wallets, revenue = self.expected(ops)
        actual = self.balances(conn)
        out += [
            Anomaly("balance_never_negative", u, f"balance {b}") for u, b in actual.items() if b < 0
        ]
        out += compare_balances(
            "fees_balances_match_history",
            {u: {"balance": b} for u, b in wallets.items()} | {"revenue": {"balance": revenue}},
            {u: {"balance": b} for u, b in actual.items()}
            | {"revenue": {"balance": self.revenue(conn)}},
        )
        return out
