"""The `fees` scenario: loads between shipper and carrier wallets, completed, then service
fees deducted and refunded on the same few loads from several workers at once (deduct vs
refund, deduct twice, deduct with other fees, fees a wallet cannot pay), with top-ups.

The oracle: per load the fee is deducted at most once, with the acknowledged fees, as one
kernel entry (shipper and carrier down, revenue up); a refunded load has exactly one
reversal of that entry; nothing happened without an acknowledgement; platform revenue and
every wallet are what the acknowledged calls imply.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar

from pgbalance.harness.stress.model import Anomaly, Call, Conn, Op
from pgbalance.harness.stress.workload.base import (
    Recent,
    Scenario,
    by_key,
    by_subject,
    compare_balances,
    exactly_once,
    fetch,
    holds,
    load_entries,
    open_funded_wallets,
    took_effect_once,
    wallet_balances,
)

CURRENCY = "EUR"
CREATE_REJECTS = frozenset({"PB003"})
COMPLETE_REJECTS: frozenset[str] = frozenset()
DEDUCT_REJECTS = frozenset({"PB001", "PB003", "PB004"})
REFUND_REJECTS = frozenset({"PB004"})
TOPUP_REJECTS = frozenset({"PB003"})


@dataclass(frozen=True)
class Load:
    load: str
    shipper: str
    carrier: str
    shipper_fee: int
    carrier_fee: int


class Fees(Scenario):
    name = "fees"
    requires: ClassVar[tuple[str, ...]] = (
        "fees.create_load",
        "fees.complete_load",
        "fees.deduct_service_fee",
        "fees.refund_service_fee",
        "fees.platform_revenue",
        "wallet.open",
        "wallet.topup",
        "wallet.balance",
    )
    prefix = "fe-"
    funding = 30_000

    def __init__(self, tenant: str, seed: int) -> None:
        super().__init__(tenant, seed)
        self.shippers = [f"{self.prefix}s{i}" for i in range(2)]
        self.carriers = [f"{self.prefix}c{i}" for i in range(2)]
        self.recent: Recent[Call] = Recent(8)
        self.loads: Recent[Load] = Recent(3)
        self.known: dict[str, Load] = {}
        self.setup_loads: set[str] = set()
        self.completed: set[str] = set()  # a hint for the mix only; never for the oracle
        self.initial: dict[str, int] = {}
        self.initial_revenue = 0

    @property
    def parties(self) -> list[str]:
        return self.shippers + self.carriers

    def setup(self, conn: Conn) -> None:
        open_funded_wallets(conn, self.tenant, self.parties, CURRENCY, self.funding, self.prefix)
        rng = random.Random(f"{self.seed}:fees-setup")
        for _ in range(2):
            self.setup_load(conn, rng)
        self.initial = self.balances(conn)
        self.initial_revenue = self.revenue(conn)

    def setup_load(self, conn: Conn, rng: random.Random) -> None:
        """A load created and completed by the setup, for the workers to start from."""
        load = self._new(rng)
        self.create_call(load).execute(conn)
        self.complete_call(load).execute(conn)
        self.loads.push(load)
        self.setup_loads.add(load.load)
        self.completed.add(load.load)

    def _new(self, rng: random.Random) -> Load:
        shipper_fee, carrier_fee = rng.randint(0, 2000), rng.randint(0, 2000)
        if shipper_fee + carrier_fee == 0:
            shipper_fee = 1
        load = Load(
            self.fresh(f"{self.prefix}L"),
            rng.choice(self.shippers),
            rng.choice(self.carriers),
            shipper_fee,
            carrier_fee,
        )
        self.known[load.load] = load
        return load

    def balances(self, conn: Conn) -> dict[str, int]:
        return wallet_balances(conn, self.tenant, self.parties)

    def revenue(self, conn: Conn) -> int:
        rows = fetch(conn, "SELECT fees.platform_revenue(%s, %s) AS r", (self.tenant, CURRENCY))
        return int(rows[0]["r"])

    # -- calls ---------------------------------------------------------------------------
    def create_call(self, load: Load) -> Call:
        return Call(
            self.name,
            "create_load",
            f"load:{load.load}",
            {"load": load.load, "shipper": load.shipper, "carrier": load.carrier},
            CREATE_REJECTS,
            "SELECT * FROM fees.create_load(%s, %s, %s, %s, %s)",
            (self.tenant, load.load, load.shipper, load.carrier, CURRENCY),
        )

    def complete_call(self, load: Load) -> Call:
        return Call(
            self.name,
            "complete_load",
            f"complete:{load.load}",
            {"load": load.load},
            COMPLETE_REJECTS,
            "SELECT * FROM fees.complete_load(%s, %s)",
            (self.tenant, load.load),
        )

    def deduct_call(self, load: Load, shipper_fee: int, carrier_fee: int) -> Call:
        return Call(
            self.name,
            "deduct",
            f"deduct:{load.load}",
            {"load": load.load, "shipper_fee": shipper_fee, "carrier_fee": carrier_fee},
            DEDUCT_REJECTS,
            "SELECT * FROM fees.deduct_service_fee(%s, %s, %s::bigint, %s::bigint)",
            (self.tenant, load.load, shipper_fee, carrier_fee),
        )

    def refund_call(self, load: Load, reason: str | None) -> Call:
        return Call(
            self.name,
            "refund",
            f"refund:{load.load}",
            {"load": load.load},
            REFUND_REJECTS,
            "SELECT * FROM fees.refund_service_fee(%s, %s, %s)",
            (self.tenant, load.load, reason),
        )

    def topup_call(self, user: str, amount: int, ref: str) -> Call:
        return Call(
            self.name,
            "topup",
            ref,
            {"ref": ref, "user": user, "amount": amount},
            TOPUP_REJECTS,
            "SELECT * FROM wallet.topup(%s, %s, %s::bigint, %s)",
            (self.tenant, user, amount, ref),
        )

    def next_call(self, rng: random.Random, worker: int) -> Call | None:
        roll = rng.random()
        if roll < 0.15:
            dup = self.recent.pick(rng)
            if dup is not None:
                return dup
        if roll < 0.22:
            call = self.create_call(self._new(rng))
            self.recent.push(call)
            return call
        if roll < 0.27:
            ref = self.fresh(f"{self.prefix}tp")
            call = self.topup_call(rng.choice(self.parties), rng.randint(1000, 8000), ref)
            self.recent.push(call)
            return call
        load = self.loads.pick(rng)
        if load is None:
            return None
        pick = rng.random()
        if pick < (0.1 if load.load in self.completed else 0.6):
            call = self.complete_call(load)
        elif rng.random() < 0.65:
            pick = rng.random()
            if pick < 0.85:
                call = self.deduct_call(load, load.shipper_fee, load.carrier_fee)
            elif pick < 0.95:
                call = self.deduct_call(load, load.shipper_fee + 1, load.carrier_fee)  # PB003
            else:
                call = self.deduct_call(load, 10 * self.funding, load.carrier_fee)  # PB001
        else:
            call = self.refund_call(load, rng.choice([None, "load cancelled"]))
        self.recent.push(call)
        return call

    def observe(self, op: Op) -> None:
        if op.ok and op.call.kind == "create_load" and not op.replayed:
            self.loads.push(self.known[op.call.args["load"]])
        elif op.ok and op.call.kind == "complete_load":
            self.completed.add(op.call.args["load"])

    # -- the oracle ----------------------------------------------------------------------
    def check(self, conn: Conn, ops: list[Op]) -> list[Anomaly]:
        out: list[Anomaly] = []
        t = self.tenant
        columns = ("load_id, load_no, shipper, carrier, status, fee_status, shipper_fee,"
                   " carrier_fee, fee_entry_id, refund_entry_id")  # fmt: skip
        loads = self.own_rows(conn, "fees.load", columns, "load_id")
        txs = self.own_rows(conn, "wallet.tx", "reference, user_id, amount", "reference")
        entries = by_key(load_entries(conn, t, "pgb:fees:"))
        revenue = f"pgb:fees:revenue:{CURRENCY}"
        groups = by_subject(ops)

        def group(kind: str, load: str) -> list[Op]:
            return groups.get(f"{kind}:{load}", [])

        for subject, g in groups.items():
            kind = g[0].call.kind
            if kind == "create_load":
                row = loads.get(g[0].call.args["load"])
                same_load = holds(row, shipper="shipper", carrier="carrier")
                out += exactly_once("exactly_once_load", subject, g, row, same_load)
            elif kind == "topup":
                tx = txs.get(subject)
                same_topup = holds(tx, user_id="user", amount="amount")
                out += exactly_once("exactly_once_topup", subject, g, tx, same_topup)

        for lid, row in loads.items():
            subject = f"load {lid}"
            deducted = row["fee_status"] != "NONE"
            refunded = row["fee_status"] == "REFUNDED"
            if lid not in self.setup_loads:  # those were completed by the setup
                completed = row["status"] == "COMPLETED"
                out += took_effect_once("complete_once", subject, group("complete", lid), completed)
            deducts = group("deduct", lid)
            out += took_effect_once("deduct_once", subject, deducts, deducted)
            out += took_effect_once("refund_once", subject, group("refund", lid), refunded)
            fees = (row["shipper_fee"], row["carrier_fee"])
            for op in deducts:
                mine = (op.call.args["shipper_fee"], op.call.args["carrier_fee"])
                if op.ok and mine != fees:
                    out.append(
                        Anomaly("deduct_once", subject, f"deducted {fees}, acknowledged {mine}")
                    )
                if op.sqlstate == "PB003" and (not deducted or mine == fees):
                    out.append(
                        Anomaly("deduct_once", subject, f"PB003 with fees {fees}: {op.describe()}")
                    )
            fee = entries.get(f"pgb:fees:{row['load_no']}:fee")
            refund = entries.get(f"pgb:fees:{row['load_no']}:refund")
            if deducted:
                sf, cf = fees
                legs = {
                    k: v
                    for k, v in {
                        f"pgb:wallet:{row['shipper']}": -sf,
                        f"pgb:wallet:{row['carrier']}": -cf,
                        revenue: sf + cf,
                    }.items()
                    if v
                }
                if fee is None or fee.entry_id != row["fee_entry_id"] or fee.leg("B") != legs:
                    out.append(Anomaly("fee_entry", subject, f"{fees} but kernel entry {fee}"))
            elif fee is not None:
                out.append(Anomaly("fee_entry", subject, f"fee_status NONE, entry {fee}"))
            reversals = [e for e in entries.values() if fee and e.reverses == fee.entry_id]
            if len(reversals) != (1 if refunded else 0):
                out.append(
                    Anomaly(
                        "one_refund",
                        subject,
                        f"{row['fee_status']} with {len(reversals)} reversals",
                    )
                )
            if refunded and (refund is None or refund.entry_id != row["refund_entry_id"]):
                out.append(Anomaly("one_refund", subject, f"refund entry {refund}"))

        want_wallets, want_revenue = self.expected(ops)
        out += compare_balances(
            "fees_balances_match_history",
            {u: {"balance": b} for u, b in want_wallets.items()}
            | {revenue: {"balance": want_revenue}},
            {u: {"balance": b} for u, b in self.balances(conn).items()}
            | {revenue: {"balance": self.revenue(conn)}},
        )
        return out

    def expected(self, ops: list[Op]) -> tuple[dict[str, int], int]:
        """Wallets and platform revenue by the history: acknowledged top-ups, the
        acknowledged deduction of each load (once), given back when its refund was
        acknowledged."""
        bal = dict(self.initial)
        revenue = self.initial_revenue
        seen: set[str] = set()
        deducted: dict[str, tuple[int, int]] = {}
        refunded: set[str] = set()
        for op in ops:
            a = op.call.args
            if not op.ok:
                continue
            if op.call.kind == "topup" and a["ref"] not in seen:
                seen.add(a["ref"])
                bal[a["user"]] += a["amount"]
            elif op.call.kind == "deduct":
                deducted.setdefault(a["load"], (a["shipper_fee"], a["carrier_fee"]))
            elif op.call.kind == "refund":
                refunded.add(a["load"])
        for lid, (sf, cf) in deducted.items():
            if lid in refunded:
                continue
            load = self.known[lid]
            bal[load.shipper] -= sf
            bal[load.carrier] -= cf
            revenue += sf + cf
        return bal, revenue
