"""The `booking` scenario: bookings created, deposits and balance-payment webhooks fired at
the same few bookings from several workers at once: provider retries (the same
payment_ref), duplicate payments (other payment_refs), wrong amounts, payments before the
deposit.

The oracle: per payment_ref exactly one payment matching every acknowledged call; a PAID
booking has exactly one applied balance payment and exactly one balance posting, of the
outstanding amount; a DEPOSIT_PAID one exactly one deposit posting; every payment
acknowledged as already_paid is kept in unapplied_payments (nothing lost); the booking
account holds what the acknowledged calls imply.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from pgbalance.harness.stress.model import Anomaly, Call, Conn, Op, Row
from pgbalance.harness.stress.workload.base import (
    Recent,
    Scenario,
    account_balances,
    by_key,
    by_subject,
    compare_balances,
    exactly_once,
    fetch,
    holds,
    load_entries,
)

CREATE_REJECTS = frozenset({"PB003"})
# PB005: a webhook for a booking whose creation another worker has not committed yet.
PAYMENT_REJECTS = frozenset({"PB002", "PB003", "PB004", "PB005", "22023"})
CURRENCY = "EUR"


@dataclass(frozen=True)
class Booking:
    booking: str
    total: int
    deposit: int


def same_payment(pay: Any) -> Callable[[Call], bool]:
    """Whether a payment call is the one the stored payment row (None: absent) holds."""
    return holds(pay, booking_id="booking", kind="kind", amount="amount")


def postings_state(
    bid: str, status: str, payments: Iterable[Row], want: tuple[int, int] | None
) -> list[Anomaly]:
    """booking_state unless the booking's applied payments are `want` (deposits, balances;
    None: at most one of each)."""
    applied = [p for p in payments if p["booking_id"] == bid and p["applied"]]
    deposits = sum(1 for p in applied if p["kind"] == "deposit")
    balances = sum(1 for p in applied if p["kind"] == "balance")
    if (deposits, balances) == want or (want is None and max(deposits, balances) <= 1):
        return []
    detail = f"{status} with {deposits} deposit and {balances} balance postings"
    return [Anomaly("booking_state", bid, detail)]


class BookingScenario(Scenario):
    name = "booking"
    requires: ClassVar[tuple[str, ...]] = (
        "booking.create",
        "booking.record_deposit",
        "booking.complete_balance_payment",
        "booking.get",
        "booking.unapplied_payments",
    )
    prefix = "bk-"

    def __init__(self, tenant: str, seed: int) -> None:
        super().__init__(tenant, seed)
        self.recent: Recent[Call] = Recent(8)
        self.bookings: Recent[Booking] = Recent(3)
        self.known: dict[str, Booking] = {}
        self.deposited: set[str] = set()  # a hint for the mix only; never for the oracle

    def setup(self, conn: Conn) -> None:
        for _ in range(2):
            b = self._new(random.Random(f"{self.seed}:booking-setup:{len(self.known)}"))
            self.create_call(b).execute(conn)
            self.bookings.push(b)

    def _new(self, rng: random.Random) -> Booking:
        total = rng.randint(10_000, 100_000)
        b = Booking(self.fresh(f"{self.prefix}b"), total, rng.randint(1, total // 3))
        self.known[b.booking] = b
        return b

    # -- calls ---------------------------------------------------------------------------
    def create_call(self, b: Booking) -> Call:
        return Call(
            self.name,
            "create",
            f"booking:{b.booking}",
            {"booking": b.booking, "total": b.total, "deposit": b.deposit},
            CREATE_REJECTS,
            "SELECT * FROM booking.create(%s, %s, %s::bigint, %s::bigint, %s)",
            (self.tenant, b.booking, b.total, b.deposit, CURRENCY),
        )

    def payment_call(self, kind: str, b: Booking, amount: int, ref: str) -> Call:
        fn = "record_deposit" if kind == "deposit" else "complete_balance_payment"
        return Call(
            self.name,
            kind,
            ref,
            {"ref": ref, "booking": b.booking, "amount": amount},
            PAYMENT_REJECTS,
            f"SELECT * FROM booking.{fn}(%s, %s, %s::bigint, %s)",
            (self.tenant, b.booking, amount, ref),
        )

    def _amount(self, rng: random.Random, due: int) -> int:
        roll = rng.random()
        if roll < 0.06:
            return due + rng.randint(1, 500)  # more than due: PB002
        if roll < 0.12:
            return max(1, due - rng.randint(1, 500))  # less than due: 22023
        return due

    def next_call(self, rng: random.Random, worker: int) -> Call | None:
        roll = rng.random()
        if roll < 0.18:
            dup = self.recent.pick(rng)  # a provider retry another worker is sending too
            if dup is not None:
                return dup
        if roll < 0.24:
            new = self._new(rng)
            call = self.create_call(new)
            self.recent.push(call)
            return call
        b = self.bookings.pick(rng)
        if b is None:
            return None
        deposit_share = 0.15 if b.booking in self.deposited else 0.6
        if rng.random() < deposit_share:
            ref = f"{self.prefix}dep-{b.booking}-{rng.randint(1, 2)}"
            call = self.payment_call("deposit", b, self._amount(rng, b.deposit), ref)
        else:
            # A few payment_refs per booking: the same one is a provider retry, another
            # one a second payment of the same balance (a duplicate webhook); before the
            # deposit, an early webhook (PB004, to be retried by the provider).
            ref = f"{self.prefix}pay-{b.booking}-{rng.randint(1, 3)}"
            call = self.payment_call("balance", b, self._amount(rng, b.total - b.deposit), ref)
        self.recent.push(call)
        return call

    def observe(self, op: Op) -> None:
        if not op.ok:
            return
        if op.call.kind == "create" and not op.replayed:
            self.bookings.push(self.known[op.call.args["booking"]])
        elif op.call.kind == "deposit":
            self.deposited.add(op.call.args["booking"])

    # -- the oracle ----------------------------------------------------------------------
    def check(self, conn: Conn, ops: list[Op]) -> list[Anomaly]:
        out: list[Anomaly] = []
        t = self.tenant
        columns = "booking_id, status, total, deposit, deposit_paid, balance_paid_amount"
        bookings = self.own_rows(conn, "booking.booking", columns, "booking_id")
        columns = "payment_ref, booking_id, kind, amount, applied, entry_id"
        payments = self.own_rows(conn, "booking.payment", columns, "payment_ref", "booking_id")
        entries = by_key(load_entries(conn, t, "pgb:booking:pay:"))
        clearing = f"pgb:booking-clearing:{CURRENCY}"

        groups = by_subject(ops)
        for subject, group in groups.items():
            if group[0].call.kind == "create":
                row = bookings.get(group[0].call.args["booking"])
                same_booking = holds(row, total="total", deposit="deposit")
                out += exactly_once(
                    "exactly_once_booking_create", subject, group, row, same_booking
                )
                continue
            pay = payments.get(subject)
            out += exactly_once("exactly_once_payment", subject, group, pay, same_payment(pay))
            for op in group:
                if op.ok and pay is not None and bool(op.row.get("already_paid")) == pay["applied"]:
                    out.append(
                        Anomaly(
                            "exactly_once_payment",
                            subject,
                            f"already_paid={op.row.get('already_paid')} but the "
                            f"payment is applied={pay['applied']}: {op.describe()}",
                        )
                    )

        for ref, pay in payments.items():
            entry = entries.get(f"pgb:booking:pay:{ref}")
            account = f"pgb:booking:{pay['booking_id']}"
            if pay["applied"]:
                legs = {clearing: -pay["amount"], account: pay["amount"]}
                if entry is None or entry.entry_id != pay["entry_id"] or entry.leg("B") != legs:
                    out.append(
                        Anomaly(
                            "payment_posting",
                            ref,
                            f"applied payment {pay} has kernel entry {entry}",
                        )
                    )
            elif entry is not None:
                out.append(Anomaly("payment_posting", ref, f"unapplied payment posted: {entry}"))

        accounts = account_balances(conn, t, [f"pgb:booking:{b}" for b in bookings])
        for bid, row in bookings.items():
            want = {"PENDING": (0, 0), "DEPOSIT_PAID": (1, 0), "PAID": (1, 1)}[row["status"]]
            out += postings_state(bid, row["status"], payments.values(), want)
            held = accounts.get(f"pgb:booking:{bid}", {}).get("balance", 0)
            paid = row["deposit_paid"] + row["balance_paid_amount"]
            if held != paid or (row["status"] == "PAID" and paid != row["total"]):
                out.append(
                    Anomaly(
                        "booking_state",
                        bid,
                        f"{row['status']}: account holds {held}, booking says paid "
                        f"{paid} of {row['total']}",
                    )
                )

        unapplied: set[str] = set()
        for bid in bookings:
            unapplied |= {
                r["payment_ref"]
                for r in fetch(
                    conn, "SELECT payment_ref FROM booking.unapplied_payments(%s, %s)", (t, bid)
                )
            }
        for op in ops:
            if op.ok and op.row.get("already_paid") and op.call.subject not in unapplied:
                out.append(
                    Anomaly(
                        "nothing_lost",
                        op.call.subject,
                        f"acknowledged as already paid, not kept: {op.describe()}",
                    )
                )

        out += compare_balances(
            "booking_balances_match_history",
            {f"pgb:booking:{b}": {"balance": v} for b, v in self.expected(ops).items()},
            {code: {"balance": cols["balance"]} for code, cols in accounts.items()},
        )
        return out

    def expected(self, ops: list[Op]) -> dict[str, int]:
        """What each booking account holds by the history: its deposit once a deposit was
        acknowledged, plus the outstanding balance once a balance payment was acknowledged
        as applied (not already_paid)."""
        out = dict.fromkeys(self.known, 0)
        deposited: set[str] = set()
        balanced: set[str] = set()
        for op in ops:
            if not op.ok:
                continue
            bid = op.call.args.get("booking", "")
            if op.call.kind == "deposit":
                deposited.add(bid)
            elif op.call.kind == "balance" and not op.row.get("already_paid"):
                balanced.add(bid)
        for bid in deposited | balanced:
            b = self.known[bid]
            out[bid] = (b.deposit if bid in deposited else 0) + (
                b.total - b.deposit if bid in balanced else 0
            )
        return out
