"""The oracle's exactly-once rules on hand-made histories: each rule passes a good history
and goes red on the violation it is for."""

from __future__ import annotations

from typing import Any

from pgbalance.harness.stress.model import Call, Op
from pgbalance.harness.stress.workload.base import exactly_once, took_effect_once
from pgbalance.harness.stress.workload.transfers import Transfers


def call(amount: int = 10, kind: str = "transfer") -> Call:
    args = {"key": "k", "src": "a", "dst": "b", "amount": amount}
    return Call("transfers", kind, "k", args, frozenset({"PB001", "PB003"}))


def op(c: Call, outcome: str = "ok", replayed: bool = False, first: str = "",
       sqlstate: str | None = None) -> Op:  # fmt: skip
    rows: list[dict[str, Any]] = [{"entry_id": 1, "replayed": replayed}] if outcome == "ok" else []
    return Op(id=0, worker=0, call=c, first=first or outcome, outcome=outcome,
              sqlstate=sqlstate, rows=rows)  # fmt: skip


def matches_amount(amount: int) -> Any:
    return lambda c: c.args["amount"] == amount


def test_exactly_once_accepts_a_good_history() -> None:
    c = call()
    history = [op(c), op(c, replayed=True), op(call(11), "rejected", sqlstate="PB003")]
    assert exactly_once("x", "k", history, object(), matches_amount(10)) == []
    # Nothing acknowledged, nothing there: fine; a lost call that was rejected on retry too.
    lost = op(c, "rejected", first="indeterminate", sqlstate="PB001")
    assert exactly_once("x", "k", [lost], None, matches_amount(10)) == []
    # Only replays acknowledged, but one of our calls was lost: it was the one applied.
    history = [op(c, replayed=True, first="indeterminate"), op(c, replayed=True)]
    assert exactly_once("x", "k", history, object(), matches_amount(10)) == []


def test_exactly_once_goes_red() -> None:
    c = call()
    effect = object()
    cases = {
        "applied twice": ([op(c), op(c)], effect),
        "acknowledged, absent": ([op(c)], None),
        "acknowledged, another call there": ([op(call(12))], effect),
        "two different calls acknowledged": ([op(c), op(call(12), replayed=True)], effect),
        "replays only, none ours": ([op(c, replayed=True)], effect),
        "rejected yet took effect": ([op(c, "rejected", sqlstate="PB001")], effect),
        "PB003 for the very call": ([op(c), op(c, "rejected", sqlstate="PB003")], effect),
        "PB003 for an unused key": ([op(c, "rejected", sqlstate="PB003")], None),
    }
    for name, (history, found) in cases.items():
        assert exactly_once("x", "k", history, found, matches_amount(10)), name


def test_took_effect_once() -> None:
    c = call(kind="void")
    assert took_effect_once("x", "h", [op(c), op(c, replayed=True)], True) == []
    assert took_effect_once("x", "h", [op(c, "rejected", sqlstate="PB004")], False) == []
    assert took_effect_once("x", "h", [op(c, replayed=True, first="indeterminate")], True) == []
    assert took_effect_once("x", "h", [op(c), op(c)], True)  # applied twice
    assert took_effect_once("x", "h", [op(c)], False)  # acknowledged, not done
    assert took_effect_once("x", "h", [op(c, "rejected", sqlstate="PB004")], True)  # unasked
    assert took_effect_once("x", "h", [], True)
    assert took_effect_once("x", "h", [op(c, replayed=True)], True)  # replay of nothing ours


def test_batches_are_judged_item_by_item() -> None:
    """A batch becomes one transfer per item with the item's own outcome; an atomic batch
    that failed names its failing item, the others are rolled back; an atomic batch with a
    refused item is itself an anomaly."""
    scenario = Transfers("t", 1)
    items = [("k1", "a", "b", 5), ("k2", "b", "a", 500)]
    loose = scenario.batch_call(items, atomic=False)
    rows = [
        {"idx": 1, "entry_id": 7, "status": "posted", "replayed": False, "error_code": None},
        {"idx": 2, "entry_id": None, "status": None, "replayed": None, "error_code": "PB001"},
    ]
    expanded, bad = scenario.expand([Op(1, 0, loose, "ok", "ok", rows=rows)])
    assert bad == []
    assert [(o.call.subject, o.outcome, o.sqlstate) for o in expanded] == [
        ("k1", "ok", None), ("k2", "rejected", "PB001")]  # fmt: skip
    strict = scenario.batch_call(items, atomic=True)
    failed = Op(2, 0, strict, "rejected", "rejected", "PB001", detail="idx=2 account=b")
    expanded, bad = scenario.expand([failed])
    assert bad == []
    assert [o.sqlstate for o in expanded] == ["rolled-back", "PB001"]
    expanded, bad = scenario.expand([Op(3, 0, strict, "ok", "ok", rows=rows)])
    assert [a.check for a in bad] == ["batch"]
