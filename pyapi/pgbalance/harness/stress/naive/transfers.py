"""Transfers, holds, captures, voids and reversals as check-then-update in the client, over
a naive account table whose balances the client overwrites with values it computed."""

from __future__ import annotations

from typing import Any

from pgbalance.harness.stress.model import Anomaly, Call, Conn, Op, Rejected, Row
from pgbalance.harness.stress.naive.store import NaiveScenario, think
from pgbalance.harness.stress.workload.base import EntryView
from pgbalance.harness.stress.workload.transfers import (
    CAPTURE_REJECTS,
    HOLD_REJECTS,
    REVERSE_REJECTS,
    TRANSFER_REJECTS,
    VOID_REJECTS,
    Held,
    Posted,
    Transfers,
)


def _check_limits(src: Row, dst: Row, amount: int) -> None:
    """The client's own limit check on the rows it read (no lock held: naive), for amount
    leaving src and arriving in dst."""
    if src["min_balance"] is not None and (
        src["balance"] - src["pending_out"] - amount < src["min_balance"]
    ):
        raise Rejected("PB001")
    if dst["max_balance"] is not None and (
        dst["balance"] + dst["pending_in"] + amount > dst["max_balance"]
    ):
        raise Rejected("PB002")


class NaiveTransfers(NaiveScenario, Transfers):
    """Transfers, holds, captures, voids and reversals as check-then-update in the client."""

    batches = False

    # -- setup ---------------------------------------------------------------------------
    def setup(self, conn: Conn) -> None:
        self.store.create(conn)
        accounts = [(self.bank, "EUR", None, None), (self.usd, "USD", None, None)] + [
            (c, "EUR", 0, self.cap if c == self.capped else None) for c in self.hot
        ]
        for code, currency, lo, hi in accounts:
            self.store.rows(
                conn, "open_account", code=code, currency=currency, min_balance=lo, max_balance=hi
            )
        for code in self.hot:
            amount = self.funding // 2 if code == self.capped else self.funding
            self.transfer_call(f"{self.prefix}fund-{code}", self.bank, code, amount).execute(conn)
        self.initial = self.balances(conn)

    def balances(self, conn: Conn) -> dict[str, dict[str, int]]:
        rows = self.store.rows(conn, "balances")
        return {
            r["code"]: {k: int(r[k]) for k in ("balance", "pending_out", "pending_in")}
            for r in rows
        }

    def _account(self, conn: Conn, code: str) -> Row:
        row = self.store.one(conn, "account", code=code)
        if row is None:
            raise Rejected("PB005", code)
        return row

    def _entry(self, conn: Conn, entry_id: int) -> Row:
        row = self.store.one(conn, "entry", entry_id=entry_id)
        if row is None:
            raise Rejected("PB005", f"entry {entry_id}")
        return row

    def _set(self, conn: Conn, code: str, **cols: int) -> None:
        """Overwrite the given columns with values computed in the client."""
        unset = dict.fromkeys(("balance", "pending_out", "pending_in"))
        self.store.rows(conn, "set_account", **(unset | cols), code=code)

    def _insert(self, conn: Conn, **cols: Any) -> int:
        entry = {"held": 0, "reverses": None} | cols
        return int(self.store.rows(conn, "record", **entry)[0]["entry_id"])

    def _set_status(self, conn: Conn, entry_id: int, status: str, **cols: int) -> None:
        unset = dict.fromkeys(("amount", "reversed_amount"))
        self.store.rows(conn, "set_status", **(unset | cols), entry_id=entry_id, status=status)

    # -- the unprotected routines --------------------------------------------------------
    def transfer_call(
        self, key: str, src: str, dst: str, amount: int, allowed: frozenset[str] = TRANSFER_REJECTS
    ) -> Call:
        def body(conn: Conn) -> list[Row]:
            seen = self.store.seen(
                conn, "entry_by_key", {"key": key}, src=src, dst=dst, amount=amount
            )
            if seen is not None:
                return [{"entry_id": seen["entry_id"], "status": seen["status"], "replayed": True}]
            a, b = self._account(conn, src), self._account(conn, dst)
            if a["currency"] != b["currency"]:
                raise Rejected("PB006")
            _check_limits(a, b, amount)
            think()
            self._set(conn, src, balance=a["balance"] - amount)
            self._set(conn, dst, balance=b["balance"] + amount)
            entry_id = self._insert(
                conn, key=key, kind="transfer", src=src, dst=dst, amount=amount, status="posted"
            )
            return [{"entry_id": entry_id, "status": "posted", "replayed": False}]

        args = {"key": key, "src": src, "dst": dst, "amount": amount}
        return self.store.call("transfer", key, args, allowed, body)

    def hold_call(self, key: str, src: str, dst: str, amount: int) -> Call:
        def body(conn: Conn) -> list[Row]:
            seen = self.store.seen(
                conn, "entry_by_key", {"key": key}, src=src, dst=dst, held=amount
            )
            if seen is not None:
                return [{"entry_id": seen["entry_id"], "status": seen["status"], "replayed": True}]
            a, b = self._account(conn, src), self._account(conn, dst)
            _check_limits(a, b, amount)
            think()
            self._set(conn, src, pending_out=a["pending_out"] + amount)
            self._set(conn, dst, pending_in=b["pending_in"] + amount)
            entry_id = self._insert(
                conn,
                key=key,
                kind="hold",
                src=src,
                dst=dst,
                held=amount,
                amount=amount,
                status="pending",
            )
            return [{"entry_id": entry_id, "status": "pending", "replayed": False}]

        args = {"key": key, "src": src, "dst": dst, "amount": amount}
        return self.store.call("hold", key, args, HOLD_REJECTS, body)

    def capture_call(self, hold: Held, amount: int | None) -> Call:
        def body(conn: Conn) -> list[Row]:
            e = self._entry(conn, hold.entry_id)
            if e["status"] in ("posted", "reversed"):
                if amount is None or amount == e["amount"]:
                    return [{"entry_id": e["entry_id"], "status": e["status"], "replayed": True}]
                raise Rejected("PB003")
            if e["status"] == "voided":
                raise Rejected("PB004")
            if amount is not None and amount > e["held"]:
                raise Rejected("PB002")
            take = amount if amount is not None else e["held"]
            a, b = self._account(conn, hold.src), self._account(conn, hold.dst)
            think()
            self._set(
                conn,
                hold.src,
                pending_out=a["pending_out"] - e["held"],
                balance=a["balance"] - take,
            )
            self._set(
                conn, hold.dst, pending_in=b["pending_in"] - e["held"], balance=b["balance"] + take
            )
            self._set_status(conn, hold.entry_id, "posted", amount=take)
            return [{"entry_id": hold.entry_id, "status": "posted", "replayed": False}]

        args = {
            "entry_id": hold.entry_id,
            "amount": amount,
            "held": hold.amount,
            "src": hold.src,
            "dst": hold.dst,
        }
        return self.store.call("capture", f"hold:{hold.entry_id}", args, CAPTURE_REJECTS, body)

    def void_call(self, hold: Held) -> Call:
        def body(conn: Conn) -> list[Row]:
            e = self._entry(conn, hold.entry_id)
            if e["status"] == "voided":
                return [{"entry_id": e["entry_id"], "status": "voided", "replayed": True}]
            if e["status"] != "pending":
                raise Rejected("PB004")
            a, b = self._account(conn, hold.src), self._account(conn, hold.dst)
            think()
            self._set(conn, hold.src, pending_out=a["pending_out"] - e["held"])
            self._set(conn, hold.dst, pending_in=b["pending_in"] - e["held"])
            self._set_status(conn, hold.entry_id, "voided")
            return [{"entry_id": hold.entry_id, "status": "voided", "replayed": False}]

        args = {"entry_id": hold.entry_id, "held": hold.amount, "src": hold.src, "dst": hold.dst}
        return self.store.call("void", f"hold:{hold.entry_id}", args, VOID_REJECTS, body)

    def reverse_call(self, key: str, target: Posted, amount: int) -> Call:
        def body(conn: Conn) -> list[Row]:
            pair = {"reverses": target.entry_id, "amount": amount}
            seen = self.store.seen(conn, "entry_by_key", {"key": key}, **pair)
            if seen is not None:
                return [{"entry_id": seen["entry_id"], "status": "posted", "replayed": True}]
            e = self._entry(conn, target.entry_id)
            if e["status"] != "posted":
                raise Rejected("PB004")
            if amount > e["amount"] - e["reversed_amount"]:
                raise Rejected("PB002")
            a, b = self._account(conn, target.src), self._account(conn, target.dst)
            _check_limits(b, a, amount)  # the money goes back: out of dst, into src
            think()
            self._set(conn, target.src, balance=a["balance"] + amount)
            self._set(conn, target.dst, balance=b["balance"] - amount)
            done = e["reversed_amount"] + amount
            status = "reversed" if done == e["amount"] else "posted"
            self._set_status(conn, target.entry_id, status, reversed_amount=done)
            entry_id = self._insert(
                conn,
                key=key,
                kind="reverse",
                src=target.src,
                dst=target.dst,
                amount=amount,
                status="posted",
                reverses=target.entry_id,
            )
            return [{"entry_id": entry_id, "status": "posted", "replayed": False}]

        args = {
            "key": key,
            "entry_id": target.entry_id,
            "amount": amount,
            "src": target.src,
            "dst": target.dst,
        }
        return self.store.call("reverse", key, args, REVERSE_REJECTS, body)

    # -- the oracle, over the naive store ------------------------------------------------
    def entries(self, conn: Conn) -> list[EntryView]:
        out: list[EntryView] = []
        for r in self.store.rows(conn, "entries"):
            view = EntryView(
                int(r["entry_id"]),
                r["key"],
                r["status"],
                int(r["amount"]),
                int(r["reversed_amount"]),
                r["reverses"],
            )
            src, dst, amount = r["src"], r["dst"], int(r["amount"])
            if r["kind"] == "transfer":
                view.legs["B"] = {src: -amount, dst: amount}
            elif r["kind"] == "reverse":
                view.legs["B"] = {src: amount, dst: -amount}
            else:
                view.legs["O"] = {src: int(r["held"])}
                view.legs["I"] = {dst: int(r["held"])}
                if r["status"] in ("posted", "reversed"):
                    view.legs["B"] = {src: -amount, dst: amount}
            out.append(view)
        return out

    def verify(self, conn: Conn) -> list[Row]:
        """The naive store against its own entries (what ledger.verify does for the kernel)."""
        want: dict[str, dict[str, int]] = {}
        for e in self.entries(conn):
            for kind, col in (("B", "balance"), ("O", "pending_out"), ("I", "pending_in")):
                if kind != "B" and e.status != "pending":
                    continue
                for code, amount in e.leg(kind).items():
                    cols = want.setdefault(code, {})
                    cols[col] = cols.get(col, 0) + amount
        rows: list[Row] = []
        accounts = self.store.rows(conn, "accounts")
        for a in accounts:
            for col in ("balance", "pending_out", "pending_in"):
                expected = want.get(a["code"], {}).get(col, 0)
                if a[col] != expected:
                    rows.append(
                        {
                            "check_name": f"naive_{col}_mismatch",
                            "tenant": self.tenant,
                            "subject": a["code"],
                            "detail": f"{col}={a[col]} entries={expected}",
                        }
                    )
            if a["min_balance"] is not None and a["balance"] - a["pending_out"] < a["min_balance"]:
                rows.append(
                    {
                        "check_name": "naive_below_floor",
                        "tenant": self.tenant,
                        "subject": a["code"],
                        "detail": f"available={a['balance'] - a['pending_out']}",
                    }
                )
            if a["max_balance"] is not None and a["balance"] + a["pending_in"] > a["max_balance"]:
                rows.append(
                    {
                        "check_name": "naive_above_ceiling",
                        "tenant": self.tenant,
                        "subject": a["code"],
                        "detail": f"balance={a['balance']}",
                    }
                )
        return rows

    def check(self, conn: Conn, ops: list[Op]) -> list[Anomaly]:
        out = super().check(conn, ops)
        out += [Anomaly(r["check_name"], r["subject"], r["detail"]) for r in self.verify(conn)]
        for r in self.store.rows(conn, "totals"):
            if r["b"] != 0 or r["o"] != r["i"]:
                out.append(
                    Anomaly(
                        "money_conserved",
                        r["currency"],
                        f"balances sum to {r['b']}, pending {r['o']} out / {r['i']} in",
                    )
                )
        return out
