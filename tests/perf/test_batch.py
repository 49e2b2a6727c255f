"""ledger.transfer_batch (docs/batch.md): one row per item; non-atomic items succeed or fail
on their own and a failed one leaves nothing; atomic batches are all or nothing with the first
failing idx in DETAIL; every item is idempotent by its key, as ledger.transfer; batches and
single transfers sharing keys never deadlock."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.helpers.barrier import run_parallel
from tests.kernel.support import Ledger, Row, detail, new_key, raises


def batch(book: Ledger, items: Any, atomic: bool | None = False) -> list[Row]:
    return book.rows("SELECT * FROM ledger.transfer_batch(%s, %s, %s) ORDER BY idx",
                     (book.tenant, Jsonb(items), atomic))  # fmt: skip


def item(key: str, src: str, dst: str, amount: Any, **extra: Any) -> dict[str, Any]:
    return {"key": key, "from": src, "to": dst, "amount": amount, **extra}


def codes(rows: list[Row]) -> list[str | None]:
    return [r["error_code"] for r in rows]


def keys_present(book: Ledger, keys: list[str]) -> set[str]:
    found = book.rows("SELECT idempotency_key AS k FROM ledger.entry WHERE tenant_id = %s"
                      " AND idempotency_key = ANY(%s)", (book.tenant, keys))  # fmt: skip
    return {r["k"] for r in found}


@pytest.fixture
def abc(ledger: Ledger) -> Ledger:
    """a: 1000, b: 0 with a ceiling of 500, c: 0, usd: 0 in USD, shut: closed."""
    ledger.open("a")
    ledger.open("b", "EUR", 0, 500)
    ledger.open("c")
    ledger.open("usd", "USD")
    ledger.open("shut")
    ledger.close("shut")
    ledger.fund("a", 1000)
    return ledger


def test_non_atomic_items_succeed_or_fail_on_their_own(abc: Ledger) -> None:
    abc.transfer("old", "a", "c", 10)
    items = [
        item("k1", "a", "b", 100),                      # ok
        item("k2", "a", "c", 5000),                     # PB001: a has 890
        item("k3", "a", "nobody", 1),                   # PB005
        item("k4", "a", "usd", 1),                      # PB006
        item("k5", "a", "shut", 1),                     # PB007
        item("k6", "a", "b", 401),                      # PB002: b would hold 501 > 500
        item("old", "a", "c", 11),                      # PB003: key known, other amount
        item("old", "a", "c", 10),                      # replay of the earlier transfer
        item("k7", "a", "a", 1),                        # 22023: same account twice
        item("k8", "a", "b", 0),                        # 22023: amount
        item("pgb:x", "a", "b", 1),                     # 22023: reserved prefix
        "not an object",                                # 22023
        item("k9", "c", "b", 10, metadata={"memo": 1}),  # ok
    ]  # fmt: skip
    rows = batch(abc, items)
    assert [r["idx"] for r in rows] == list(range(1, len(items) + 1))
    assert codes(rows) == [None, "PB001", "PB005", "PB006", "PB007", "PB002", "PB003", None,
                           "22023", "22023", "22023", "22023", None]  # fmt: skip
    for r in rows:
        if r["error_code"]:
            assert (r["entry_id"], r["status"]) == (None, None)
        else:
            assert r["entry_id"] is not None and r["status"] == "posted"
    assert [r["replayed"] for r in rows if not r["error_code"]] == [False, True, False]
    assert rows[7]["entry_id"] == abc.entry_id("old")
    assert (abc.balance("a"), abc.balance("b"), abc.balance("c")) == (890, 110, 0)
    assert keys_present(abc, ["k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9"]) == {"k1", "k9"}
    assert abc.entry(rows[12]["entry_id"])["metadata"] == {"memo": 1}


def test_items_take_effect_in_order(abc: Ledger) -> None:
    # c is empty: paying out of it works only after the item that funds it.
    rows = batch(abc, [item("in", "a", "c", 300), item("out", "c", "b", 300)])
    assert codes(rows) == [None, None]
    rows = batch(abc, [item("out2", "c", "b", 100), item("in2", "a", "c", 100)])
    assert codes(rows) == ["PB001", None]
    assert (abc.balance("a"), abc.balance("b"), abc.balance("c")) == (600, 300, 100)


def test_statement_lists_a_batch_in_item_order(abc: Ledger) -> None:
    """Keys are claimed in key order, but entry ids follow the items, so the statement of an
    account touched by several items shows balances it really had (never below its floor)."""
    rows = batch(abc, [item("zz-in", "a", "c", 300), item("aa-out", "c", "b", 200),
                       item("mm-out", "c", "b", 100)])  # fmt: skip
    assert codes(rows) == [None, None, None]
    ids = [r["entry_id"] for r in rows]
    assert ids == sorted(ids)
    lines = abc.statement("c")
    assert [(line["amount"], line["balance_after"]) for line in lines] == [
        (300, 300), (-200, 100), (-100, 0)]  # fmt: skip


def test_atomic_is_all_or_nothing_with_the_first_failing_idx(abc: Ledger) -> None:
    before = abc.state()
    items = [item("t1", "a", "c", 100), item("t2", "a", "nobody", 1), item("t3", "a", "c", 1),
             item("t4", "a", "c", "x")]  # fmt: skip
    with raises("PB005") as info:
        batch(abc, items, atomic=True)
    assert detail(info)["idx"] == "2"
    assert detail(info)["account"] == "nobody"
    assert abc.state() == before
    assert keys_present(abc, ["t1", "t2", "t3", "t4"]) == set()
    # an earlier item's 22023 wins over a later PB005
    with raises("22023") as info:
        batch(abc, [item("u1", "a", "c", 1), item("u2", "a", "c", -1), item("u3", "a", "x", 1)],
              atomic=True)  # fmt: skip
    assert detail(info)["idx"] == "2"
    # limits as the items go: the third would overdraw a after the first two
    with raises("PB001") as info:
        batch(abc, [item("v1", "a", "c", 600), item("v2", "a", "c", 300),
                    item("v3", "a", "c", 200)], atomic=True)  # fmt: skip
    assert detail(info)["idx"] == "3" and detail(info)["available"] == "100"
    assert abc.state() == before
    rows = batch(abc, [item("w1", "a", "c", 600), item("w2", "c", "b", 500)], atomic=True)
    assert codes(rows) == [None, None]
    assert (abc.balance("a"), abc.balance("b"), abc.balance("c")) == (400, 500, 100)


def test_each_item_is_idempotent_by_its_key(abc: Ledger) -> None:
    items = [item("i1", "a", "b", 10), item("i2", "a", "c", 20)]
    first = batch(abc, items)
    again = batch(abc, items)
    assert [r["entry_id"] for r in again] == [r["entry_id"] for r in first]
    assert [r["replayed"] for r in first] == [False, False]
    assert [r["replayed"] for r in again] == [True, True]
    # the same key through ledger.transfer (same fingerprint) replays, and the other way round
    assert abc.transfer("i1", "a", "b", 10)["replayed"] is True
    abc.transfer("single", "a", "c", 7)
    rows = batch(abc, [item("single", "a", "c", 7), item("single-2", "a", "c", 7)])
    assert [(r["replayed"], r["error_code"]) for r in rows] == [(True, None), (False, None)]
    # metadata does not count; accounts and amount do
    rows = batch(abc, [item("i1", "a", "b", 10, metadata={"x": 1}), item("i2", "b", "c", 20)])
    assert codes(rows) == [None, "PB003"]
    # a replay shows the entry's current state
    abc.reverse("undo", first[0]["entry_id"])
    rows = batch(abc, [item("i1", "a", "b", 10)])
    assert (rows[0]["status"], rows[0]["replayed"]) == ("reversed", True)
    assert abc.balance("a") == 1000 - 20 - 7 - 7


def test_failed_items_leave_nothing_and_their_keys_stay_free(abc: Ledger) -> None:
    entries = abc.scalar("SELECT count(*) AS n FROM ledger.entry WHERE tenant_id = %s",
                         (abc.tenant,))  # fmt: skip
    rows = batch(abc, [item("f1", "a", "c", 5000), item("f2", "a", "usd", 1),
                       item("f3", "a", "nobody", 1)])  # fmt: skip
    assert codes(rows) == ["PB001", "PB006", "PB005"]
    assert abc.scalar("SELECT count(*) AS n FROM ledger.entry WHERE tenant_id = %s",
                      (abc.tenant,)) == entries  # fmt: skip
    # the keys are free: other parameters are no conflict
    assert abc.transfer("f1", "a", "c", 50)["replayed"] is False
    rows = batch(abc, [item("f2", "a", "b", 5), item("f3", "a", "b", 6)], atomic=True)
    assert codes(rows) == [None, None]
    assert abc.balance("a") == 1000 - 61


def test_the_same_key_twice_in_one_batch(abc: Ledger) -> None:
    rows = batch(abc, [
        item("dup", "a", "c", 5000),  # fails: nothing left, the key stays free
        item("dup", "a", "c", 100),   # so this is a first attempt and succeeds
        item("dup", "a", "c", 100),   # replay of the item before
        item("dup", "a", "c", 99),    # PB003 against it
        item("once", "a", "b", 1),
        item("once", "a", "b", 1),
    ])  # fmt: skip
    assert codes(rows) == ["PB001", None, None, "PB003", None, None]
    assert [r["replayed"] for r in rows] == [None, False, True, None, False, True]
    assert rows[2]["entry_id"] == rows[1]["entry_id"]
    assert rows[5]["entry_id"] == rows[4]["entry_id"]
    assert abc.transfer("dup", "a", "c", 100)["entry_id"] == rows[1]["entry_id"]
    assert (abc.balance("a"), abc.balance("c")) == (899, 100)


@pytest.mark.parametrize(
    "payload",
    [None, {"key": "k"}, "text", 5],
    ids=["null", "object", "string", "number"],
)
def test_a_malformed_batch_is_22023_for_the_call(abc: Ledger, payload: Any) -> None:
    before = abc.state()
    with raises("22023"):
        abc.rows("SELECT * FROM ledger.transfer_batch(%s, %s)",
                 (abc.tenant, None if payload is None else Jsonb(payload)))  # fmt: skip
    assert abc.state() == before


def test_call_level_checks(abc: Ledger) -> None:
    before = abc.state()
    assert batch(abc, []) == []
    with raises("22023"):
        batch(abc, [item("n1", "a", "b", 1)], atomic=None)
    with raises("22023"):
        batch(abc, [item(f"many-{i}", "a", "b", 1) for i in range(1001)])
    with raises("22023"):
        abc.rows("SELECT * FROM ledger.transfer_batch('', %s)", (Jsonb([]),))
    assert abc.state() == before


def test_batch_into_a_striped_account(abc: Ledger) -> None:
    abc.open("rev", "EUR", None, None)
    abc.call("set_account_stripes", "rev", 4)
    world = abc.world()
    abc.open("world2", "EUR", None, None)
    rows = batch(abc, [item(new_key(), "a", "rev", 10) for _ in range(5)]
                 + [item("huge", world, "rev", 9 * 10**18),
                    item("overflow", "world2", "rev", 9 * 10**18)])  # fmt: skip
    assert codes(rows) == [None] * 6 + ["PB002"]  # the total would leave the bigint range
    assert abc.balance("rev") == 9 * 10**18 + 50


@pytest.mark.concurrency
def test_batches_and_transfers_sharing_keys_never_deadlock(
    ledger: Ledger, kernel_dsn: str
) -> None:
    """20 connections at once: batches whose keys overlap (sent in shuffled orders, moving
    money both ways between the same accounts) and single transfers with the same keys. No
    call ever fails, every key ends up with one entry, and the balances add up."""
    accounts = [f"acct{i}" for i in range(6)]
    for code in accounts:
        ledger.open(code)
        ledger.fund(code, 10_000)
    pool = [(f"shared-{n}", accounts[n % 6], accounts[(n * 5 + 1) % 6], 1 + n % 7)
            for n in range(40)]  # fmt: skip
    pool = [p for p in pool if p[1] != p[2]]

    def work(conn: psycopg.Connection[Any], i: int) -> int:
        rng = random.Random(i)
        if i % 2 == 0:
            mine = rng.sample(pool, 15)
            rows = conn.execute(
                "SELECT count(*) FROM ledger.transfer_batch(%s, %s, %s) WHERE error_code IS NULL",
                (ledger.tenant, Jsonb([item(k, s, d, x) for k, s, d, x in mine]), i % 4 == 0),
            ).fetchone()
            assert rows is not None
            return int(rows[0])
        done = 0
        for k, s, d, x in rng.sample(pool, 8):
            conn.execute("SELECT * FROM ledger.transfer(%s, %s, %s, %s, %s)",
                         (ledger.tenant, k, s, d, x))  # fmt: skip
            done += 1
        return done

    outcomes = run_parallel(kernel_dsn, 20, work, timeout=120)
    assert Counter(o.sqlstate for o in outcomes) == Counter({"ok": 20})
    made = {r["k"]: r["n"] for r in ledger.rows(
        "SELECT idempotency_key AS k, count(*) AS n FROM ledger.entry"
        " WHERE tenant_id = %s AND idempotency_key LIKE 'shared-%%' GROUP BY 1",
        (ledger.tenant,))}  # fmt: skip
    assert set(made.values()) == {1}
    moved = Counter[str]()
    for k, s, d, x in pool:
        if k in made:
            moved[s] -= x
            moved[d] += x
    for code in accounts:
        assert ledger.balance(code) == 10_000 + moved[code]
