"""The booking workload against the duplicate-webhook pattern: the handler reads the booking
(deposit paid? amount due? payment_ref seen?) and then applies the payment; the booking's
status and paid columns and the payments table are two authorities over one balance."""

from __future__ import annotations

from pgbalance.harness.stress.model import Anomaly, Call, Conn, Op, Rejected, Row
from pgbalance.harness.stress.naive.store import NaiveScenario, think
from pgbalance.harness.stress.workload.base import by_subject, compare_balances, exactly_once
from pgbalance.harness.stress.workload.booking import (
    CREATE_REJECTS,
    PAYMENT_REJECTS,
    Booking,
    BookingScenario,
    postings_state,
    same_payment,
)


class NaiveBooking(NaiveScenario, BookingScenario):
    def _out(self, b: Row, replayed: bool = False, already_paid: bool = False) -> list[Row]:
        outstanding = b["total"] - b["deposit_paid"] - b["balance_paid"]
        return [
            {
                "booking": b["booking_id"],
                "status": b["status"],
                "total": b["total"],
                "deposit_paid": b["deposit_paid"],
                "balance_paid_amount": b["balance_paid"],
                "outstanding": outstanding,
                "replayed": replayed,
                "already_paid": already_paid,
            }
        ]

    def create_call(self, b: Booking) -> Call:
        st = self.store

        def body(conn: Conn) -> list[Row]:
            found = st.seen(
                conn, "booking", {"booking": b.booking}, total=b.total, deposit=b.deposit
            )
            if found is not None:
                return self._out(found, replayed=True)
            think()
            row = st.rows(conn, "create", booking=b.booking, total=b.total, deposit=b.deposit)
            return self._out(row[0])

        args = {"booking": b.booking, "total": b.total, "deposit": b.deposit}
        return st.call("create", f"booking:{b.booking}", args, CREATE_REJECTS, body)

    def payment_call(self, kind: str, b: Booking, amount: int, ref: str) -> Call:
        st = self.store

        def body(conn: Conn) -> list[Row]:
            bk = st.one(conn, "booking", booking=b.booking)
            if bk is None:
                raise Rejected("PB005")
            pay = {"booking_id": b.booking, "kind": kind, "amount": amount}
            seen = st.seen(conn, "payment", {"payment_ref": ref}, **pay)
            if seen is not None:
                return self._out(bk, replayed=True, already_paid=not seen["applied"])
            pay = {"payment_ref": ref, "booking": b.booking, "kind": kind, "amount": amount}
            if kind == "deposit":
                if bk["status"] != "PENDING":
                    raise Rejected("PB004")
                if amount != bk["deposit"]:
                    raise Rejected("PB002" if amount > bk["deposit"] else "22023")
                think()
                st.rows(conn, "apply_deposit", booking=b.booking, amount=amount)
                st.rows(conn, "record", **pay, applied=True)
                return self._out({**bk, "status": "DEPOSIT_PAID", "deposit_paid": amount})
            if bk["status"] == "PENDING":
                raise Rejected("PB004")
            if bk["status"] == "PAID":
                st.rows(conn, "record", **pay, applied=False)
                return self._out(bk, already_paid=True)
            due = bk["total"] - bk["deposit_paid"] - bk["balance_paid"]
            if amount != due:
                raise Rejected("PB002" if amount > due else "22023")
            think()
            st.rows(conn, "apply", booking=b.booking, amount=amount)
            st.rows(conn, "record", **pay, applied=True)
            return self._out({**bk, "status": "PAID", "balance_paid": bk["balance_paid"] + amount})

        args = {"ref": ref, "booking": b.booking, "amount": amount}
        return st.call(kind, ref, args, PAYMENT_REJECTS, body)

    def check(self, conn: Conn, ops: list[Op]) -> list[Anomaly]:
        out: list[Anomaly] = []
        bookings: dict[str, list[Row]] = {}
        for r in self.store.rows(conn, "bookings"):
            bookings.setdefault(r["booking_id"], []).append(r)
        payments: dict[str, list[Row]] = {}
        for r in self.store.rows(conn, "payments"):
            payments.setdefault(r["payment_ref"], []).append(r)
        for bid, rows in bookings.items():
            if len(rows) > 1:
                out.append(Anomaly("one_booking_per_id", bid, f"{len(rows)} bookings"))
            row = rows[0]
            every = (p for ps in payments.values() for p in ps)
            out += postings_state(bid, row["status"], every, None)
            if row["deposit_paid"] + row["balance_paid"] > row["total"]:
                out.append(
                    Anomaly(
                        "booking_state",
                        bid,
                        f"paid {row['deposit_paid'] + row['balance_paid']} of {row['total']}",
                    )
                )
        for ref, ps in payments.items():
            if len(ps) > 1:
                out.append(Anomaly("one_payment_per_ref", ref, f"{len(ps)} payments"))
        groups = by_subject(ops)
        for subject, group in groups.items():
            if group[0].call.kind == "create":
                continue
            pay = payments.get(subject, [None])[0]
            out += exactly_once("exactly_once_payment", subject, group, pay, same_payment(pay))
        applied_refs: dict[str, set[str]] = {}
        for op in ops:
            if op.ok and op.call.kind == "balance" and not op.row.get("already_paid"):
                applied_refs.setdefault(op.call.args["booking"], set()).add(op.call.subject)
        for bid, refs in applied_refs.items():
            if len(refs) > 1:
                out.append(
                    Anomaly(
                        "applied_once", bid, f"{len(refs)} balance payments acknowledged as applied"
                    )
                )
        actual = {
            f"pgb:booking:{bid}": {"balance": rows[0]["deposit_paid"] + rows[0]["balance_paid"]}
            for bid, rows in bookings.items()
        }
        out += compare_balances(
            "booking_balances_match_history",
            {f"pgb:booking:{b}": {"balance": v} for b, v in self.expected(ops).items()},
            actual,
        )
        return out
