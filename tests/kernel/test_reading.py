"""get_entry, balance_at, statement."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.kernel.support import Ledger, new_key, raises


@pytest.fixture
def ab(ledger: Ledger) -> Ledger:
    ledger.open("a")
    ledger.open("b")
    return ledger


def test_get_entry(ab: Ledger) -> None:
    funding = ab.fund("a", 500)
    row = ab.transfer("t1", "a", "b", 200, {"order": 42})
    entry = ab.entry(row["entry_id"])
    assert entry["entry_id"] == row["entry_id"]
    assert entry["idempotency_key"] == "t1"
    assert entry["status"] == "posted"
    assert entry["legs"] == [{"account": "a", "amount": -200}, {"account": "b", "amount": 200}]
    assert entry["metadata"] == {"order": 42}
    assert isinstance(entry["created_at"], datetime)
    assert ab.entry(funding["entry_id"])["legs"][1] == {"account": "a", "amount": 500}
    hold = ab.hold("h1", "b", "a", 50)
    assert ab.entry(hold["entry_id"])["legs"] == [
        {"account": "b", "amount": -50}, {"account": "a", "amount": 50},
    ]  # fmt: skip
    ab.void(hold["entry_id"])
    voided = ab.entry(hold["entry_id"])
    assert voided["status"] == "voided"
    assert voided["legs"] == [{"account": "b", "amount": -50}, {"account": "a", "amount": 50}]
    with raises("PB005"):
        ab.entry(987654321)
    with raises("22023"):
        ab.call("get_entry", None)


def test_balance_at_points_in_time(ab: Ledger) -> None:
    t0 = ab.now()
    ab.fund("a", 500)
    t1 = ab.now()
    ab.transfer(new_key(), "a", "b", 200)
    t2 = ab.now()
    hold = ab.hold(new_key(), "a", "b", 100)
    t3 = ab.now()
    ab.capture(hold["entry_id"], 60)
    t4 = ab.now()
    expected = {t0: (0, 0), t1: (500, 0), t2: (300, 200), t3: (300, 200), t4: (240, 260)}
    for at, (a, b) in expected.items():
        assert (ab.balance_at("a", at), ab.balance_at("b", at)) == (a, b), at
    assert ab.balance_at("a", "infinity") == ab.balance("a")  # type: ignore[arg-type]
    with raises("PB005"):
        ab.balance_at("ghost", t4)
    with raises("22023"):
        ab.one("SELECT ledger.balance_at(%s, 'a', NULL)", (ab.tenant,))


def test_statement_running_balance_and_order(ab: Ledger) -> None:
    ab.open("c")
    e1 = ab.fund("a", 500)
    e2 = ab.transfer(new_key(), "a", "b", 200, {"n": 2})
    e3 = ab.transfer(new_key(), "b", "a", 50, {"n": 3})
    hold = ab.hold(new_key(), "a", "c", 100)
    e4 = ab.post(new_key(), [("a", -30), ("b", 10), ("c", 20)], {"n": 4})
    ab.capture(hold["entry_id"], 70)
    e5 = ab.reverse(new_key(), e2["entry_id"], 20, {"n": 5})
    lines = ab.statement("a")
    assert [(x["entry_id"], x["amount"], x["balance_after"]) for x in lines] == [
        (e1["entry_id"], 500, 500),
        (e2["entry_id"], -200, 300),
        (e3["entry_id"], 50, 350),
        (e4["entry_id"], -30, 320),
        (hold["entry_id"], -70, 250),  # captured after e4: it takes effect after e4
        (e5["entry_id"], 20, 270),
    ]
    assert lines[1]["metadata"] == {"n": 2}
    assert lines[-1]["balance_after"] == ab.balance("a")
    times = [x["posted_at"] for x in lines]
    assert times == sorted(times)

    # Cutting the start keeps the true running balance.
    cut = ab.statement("a", since=lines[2]["posted_at"])
    assert [(x["entry_id"], x["balance_after"]) for x in cut] == [
        (x["entry_id"], x["balance_after"]) for x in lines[2:]
    ]
    window = ab.statement("a", since=lines[1]["posted_at"], until=lines[3]["posted_at"])
    assert [x["balance_after"] for x in window] == [300, 350, 320]
    assert ab.statement("a", since="infinity") == []
    assert ab.statement("b")[-1]["balance_after"] == ab.balance("b")
    with raises("PB005"):
        ab.statement("ghost")
    with raises("22023"):
        ab.statement("a", since=None)
