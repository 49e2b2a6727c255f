"""Transfers, holds, captures, voids and reversals as check-then-update in the client, over
a naive account table whose balances the client overwrites with values it computed."""

from __future__ import annotations

from typing import Any

from pgbalance.stress.model import Anomaly, Call, Conn, Op, Rejected, Row
from pgbalance.stress.naive.store import NaiveScenario, think
from pgbalance.stress.workload.base import EntryView, fetch
from pgbalance.stress.workload.transfers import (
    CAPTURE_REJECTS,
    HOLD_REJECTS,
    REVERSE_REJECTS,
    TRANSFER_REJECTS,
    VOID_REJECTS,
    Held,
    Posted,
    Transfers,
)

DDL = """
    CREATE TABLE {s}.naive_account (
        code text PRIMARY KEY, currency text NOT NULL,
        balance bigint NOT NULL DEFAULT 0, pending_out bigint NOT NULL DEFAULT 0,
        pending_in bigint NOT NULL DEFAULT 0, min_balance bigint, max_balance bigint);
    CREATE TABLE {s}.naive_entry (
        entry_id bigserial PRIMARY KEY, key text NOT NULL, kind text NOT NULL,
        src text NOT NULL, dst text NOT NULL, held bigint NOT NULL DEFAULT 0,
        amount bigint NOT NULL, status text NOT NULL, reverses bigint,
        reversed_amount bigint NOT NULL DEFAULT 0)"""


def _check_limits(a: Row, b: Row, amount: int) -> None:
    """The client's own limit check on the rows it read (no lock held: naive)."""
    if a["min_balance"] is not None and (
        a["balance"] - a["pending_out"] - amount < a["min_balance"]
    ):
        raise Rejected("PB001")
    if b["max_balance"] is not None and (
        b["balance"] + b["pending_in"] + amount > b["max_balance"]
    ):
        raise Rejected("PB002")


class NaiveTransfers(NaiveScenario, Transfers):
    """Transfers, holds, captures, voids and reversals as check-then-update in the client."""

    batches = False

    def __init__(self, tenant: str, seed: int) -> None:
        super().__init__(tenant, seed)
        self.s = self.store.s

    # -- setup ---------------------------------------------------------------------------
    def setup(self, conn: Conn) -> None:
        s = self.s
        self.store.create(conn, DDL)
        accounts = [(self.bank, "EUR", None, None), (self.usd, "USD", None, None)] + [
            (c, "EUR", 0, self.cap if c == self.capped else None) for c in self.hot
        ]
        for code, currency, lo, hi in accounts:
            conn.execute(
                f"INSERT INTO {s}.naive_account (code, currency, min_balance, max_balance)"
                " VALUES (%s, %s, %s, %s)",
                (code, currency, lo, hi),
            )  # naive setup
        for code in self.hot:
            amount = self.funding // 2 if code == self.capped else self.funding
            self.transfer_call(f"{self.prefix}fund-{code}", self.bank, code, amount).execute(conn)
        self.initial = self.balances(conn)

    def balances(self, conn: Conn) -> dict[str, dict[str, int]]:
        rows = fetch(
            conn, f"SELECT code, balance, pending_out, pending_in FROM {self.s}.naive_account"
        )
        return {
            r["code"]: {k: int(r[k]) for k in ("balance", "pending_out", "pending_in")}
            for r in rows
        }

    def _account(self, conn: Conn, code: str) -> Row:
        rows = fetch(conn, f"SELECT * FROM {self.s}.naive_account WHERE code = %s", (code,))
        if not rows:
            raise Rejected("PB005", code)
        return rows[0]

    def _entry_by_key(self, conn: Conn, key: str) -> Row | None:
        rows = fetch(conn, f"SELECT * FROM {self.s}.naive_entry WHERE key = %s LIMIT 1", (key,))
        return rows[0] if rows else None

    def _entry(self, conn: Conn, entry_id: int) -> Row:
        rows = fetch(conn, f"SELECT * FROM {self.s}.naive_entry WHERE entry_id = %s", (entry_id,))
        if not rows:
            raise Rejected("PB005", f"entry {entry_id}")
        return rows[0]

    def _set(self, conn: Conn, code: str, **cols: int) -> None:
        sets = ", ".join(f"{c} = %s" for c in cols)
        conn.execute(
            f"UPDATE {self.s}.naive_account SET {sets} WHERE code = %s", (*cols.values(), code)
        )  # naive: values computed in the client

    def _insert(self, conn: Conn, **cols: Any) -> int:
        names = ", ".join(cols)
        marks = ", ".join(["%s"] * len(cols))
        rows = fetch(
            conn,
            f"INSERT INTO {self.s}.naive_entry ({names}) VALUES ({marks}) RETURNING entry_id",
            tuple(cols.values()),
        )  # naive insert
        return int(rows[0]["entry_id"])

    # -- the unprotected routines --------------------------------------------------------
    def transfer_call(
        self, key: str, src: str, dst: str, amount: int, allowed: frozenset[str] = TRANSFER_REJECTS
    ) -> Call:
        def body(conn: Conn) -> list[Row]:
            seen = self._entry_by_key(conn, key)
            if seen is not None:  # idempotency by "look first"
                if (seen["src"], seen["dst"], seen["amount"]) != (src, dst, amount):
                    raise Rejected("PB003")
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
            seen = self._entry_by_key(conn, key)
            if seen is not None:
                if (seen["src"], seen["dst"], seen["held"]) != (src, dst, amount):
                    raise Rejected("PB003")
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
            conn.execute(
                f"UPDATE {self.s}.naive_entry SET status = 'posted', amount = %s"
                " WHERE entry_id = %s",
                (take, hold.entry_id),
            )  # naive status flag
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
            conn.execute(
                f"UPDATE {self.s}.naive_entry SET status = 'voided' WHERE entry_id = %s",
                (hold.entry_id,),
            )  # naive status flag
            return [{"entry_id": hold.entry_id, "status": "voided", "replayed": False}]

        args = {"entry_id": hold.entry_id, "held": hold.amount, "src": hold.src, "dst": hold.dst}
        return self.store.call("void", f"hold:{hold.entry_id}", args, VOID_REJECTS, body)

    def reverse_call(self, key: str, target: Posted, amount: int) -> Call:
        def body(conn: Conn) -> list[Row]:
            seen = self._entry_by_key(conn, key)
            if seen is not None:
                if (seen["reverses"], seen["amount"]) != (target.entry_id, amount):
                    raise Rejected("PB003")
                return [{"entry_id": seen["entry_id"], "status": "posted", "replayed": True}]
            e = self._entry(conn, target.entry_id)
            if e["status"] != "posted":
                raise Rejected("PB004")
            if amount > e["amount"] - e["reversed_amount"]:
                raise Rejected("PB002")
            a, b = self._account(conn, target.src), self._account(conn, target.dst)
            if b["min_balance"] is not None and (
                b["balance"] - b["pending_out"] - amount < b["min_balance"]
            ):
                raise Rejected("PB001")
            if a["max_balance"] is not None and (
                a["balance"] + a["pending_in"] + amount > a["max_balance"]
            ):
                raise Rejected("PB002")
            think()
            self._set(conn, target.src, balance=a["balance"] + amount)
            self._set(conn, target.dst, balance=b["balance"] - amount)
            done = e["reversed_amount"] + amount
            conn.execute(
                f"UPDATE {self.s}.naive_entry SET reversed_amount = %s, status = %s"
                " WHERE entry_id = %s",
                (done, "reversed" if done == e["amount"] else "posted", target.entry_id),
            )  # naive: computed in the client
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
        for r in fetch(conn, f"SELECT * FROM {self.s}.naive_entry ORDER BY entry_id"):
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
        accounts = fetch(conn, f"SELECT * FROM {self.s}.naive_account ORDER BY code")
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
        for r in fetch(
            conn,
            f"SELECT currency, sum(balance)::bigint AS b, sum(pending_out)::bigint"
            f" AS o, sum(pending_in)::bigint AS i FROM {self.s}.naive_account"
            " GROUP BY currency",
        ):
            if r["b"] != 0 or r["o"] != r["i"]:
                out.append(
                    Anomaly(
                        "money_conserved",
                        r["currency"],
                        f"balances sum to {r['b']}, pending {r['o']} out / {r['i']} in",
                    )
                )
        return out
