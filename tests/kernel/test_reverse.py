"""ledger.reverse: full and partial reversals, caps, states, multi-leg entries, replays."""

from __future__ import annotations

import pytest

from tests.kernel.support import Ledger, new_key, raises


@pytest.fixture
def ab(ledger: Ledger) -> Ledger:
    ledger.open("a")
    ledger.open("b")
    ledger.open("c")
    ledger.fund("a", 1000)
    return ledger


def test_full_reversal(ab: Ledger) -> None:
    original = ab.transfer("t1", "a", "b", 400)
    row = ab.reverse("r1", original["entry_id"], metadata={"why": "typo"})
    assert row["status"] == "posted" and row["replayed"] is False
    assert row["entry_id"] != original["entry_id"]
    assert (ab.balance("a"), ab.balance("b")) == (1000, 0)
    assert ab.legs(row["entry_id"]) == {"a": 400, "b": -400}
    assert ab.entry(original["entry_id"])["status"] == "reversed"
    # Replays show the current state: the original is now reversed.
    assert ab.transfer("t1", "a", "b", 400) == {**original, "status": "reversed", "replayed": True}
    assert ab.reverse("r1", original["entry_id"]) == {**row, "replayed": True}
    before = ab.state()
    with raises("PB004"):
        ab.reverse("r2", original["entry_id"])
    with raises("PB004"):  # state before the amount
        ab.reverse("r2", original["entry_id"], 1)
    assert ab.state() == before
    assert not ab.key_exists("r2")


def test_partial_reversals_up_to_the_original(ab: Ledger) -> None:
    original = ab.transfer("t1", "a", "b", 400)
    eid = original["entry_id"]
    ab.reverse("r1", eid, 150)
    assert ab.entry(eid)["status"] == "posted"
    assert (ab.balance("a"), ab.balance("b")) == (750, 250)
    before = ab.state()
    with raises("PB002"):
        ab.reverse("r2", eid, 251)
    assert ab.state() == before
    assert ab.reverse("r1", eid, 150)["replayed"] is True
    with raises("PB003"):
        ab.reverse("r1", eid, 149)
    last = ab.reverse("r2", eid)  # NULL: what remains
    assert ab.legs(last["entry_id"]) == {"a": 250, "b": -250}
    assert ab.entry(eid)["status"] == "reversed"
    assert ab.transfer("t1", "a", "b", 400)["status"] == "reversed"
    assert (ab.balance("a"), ab.balance("b")) == (1000, 0)


def test_reversal_respects_limits(ab: Ledger) -> None:
    original = ab.transfer("t1", "a", "b", 400)
    ab.transfer(new_key(), "b", "c", 300)  # b spent most of it
    before = ab.state()
    with raises("PB001"):
        ab.reverse("r1", original["entry_id"])
    assert ab.state() == before
    ab.reverse("r1", original["entry_id"], 100)
    assert ab.balance("b") == 0


def test_pending_and_voided_cannot_be_reversed(ab: Ledger) -> None:
    hold = ab.hold(new_key(), "a", "b", 100)
    with raises("PB004"):
        ab.reverse("r1", hold["entry_id"])
    ab.void(hold["entry_id"])
    with raises("PB004"):
        ab.reverse("r1", hold["entry_id"])
    assert not ab.key_exists("r1")


def test_reversing_a_captured_hold_reverses_the_captured_amount(ab: Ledger) -> None:
    hold = ab.hold(new_key(), "a", "b", 300)
    ab.capture(hold["entry_id"], 120)
    with raises("PB002"):
        ab.reverse("r1", hold["entry_id"], 121)
    row = ab.reverse("r1", hold["entry_id"])
    assert ab.legs(row["entry_id"]) == {"a": 120, "b": -120}
    assert ab.entry(hold["entry_id"])["status"] == "reversed"
    assert ab.capture(hold["entry_id"]) == {
        "entry_id": hold["entry_id"], "status": "reversed", "replayed": True,
    }  # fmt: skip


def test_multi_leg_reversal_full_only(ab: Ledger) -> None:
    original = ab.post(new_key(), [("a", -100), ("b", 60), ("c", 40)])
    eid = original["entry_id"]
    with raises("22023"):
        ab.reverse("r1", eid, 50)
    assert not ab.key_exists("r1")
    row = ab.reverse("r1", eid, 100)  # the whole amount is allowed
    assert ab.legs(row["entry_id"]) == {"a": 100, "b": -60, "c": -40}
    assert ab.entry(eid)["status"] == "reversed"
    assert [ab.balance(x) for x in "abc"] == [1000, 0, 0]


def test_multi_currency_reversal(ab: Ledger) -> None:
    ab.open("x", "USD")
    ab.open("y", "USD")
    ab.fund("x", 80)
    original = ab.post(new_key(), [("a", -100), ("b", 100), ("x", -80), ("y", 80)])
    ab.reverse("r1", original["entry_id"])
    assert [ab.balance(c) for c in ("a", "b", "x", "y")] == [1000, 0, 80, 0]


def test_reversal_touching_a_closed_account_is_pb007(ab: Ledger) -> None:
    original = ab.transfer(new_key(), "a", "b", 100)
    ab.reverse(new_key(), original["entry_id"], 100)
    ab.close("b")
    # Fully reversed (PB004) and closed (PB007): PB007 comes first in the check order.
    with raises("PB007"):
        ab.reverse(new_key(), original["entry_id"])


def test_reverse_errors_leave_nothing(ab: Ledger) -> None:
    original = ab.transfer(new_key(), "a", "b", 100)
    before = ab.state()
    cases = [
        ("22023", ("pgb:r", original["entry_id"], None)),
        ("22023", ("r", original["entry_id"], 0)),
        ("22023", ("r", None, None)),
        ("22023", ("", original["entry_id"], None)),
        ("PB005", ("r", 987654321, None)),
        ("PB002", ("r", original["entry_id"], 101)),
    ]
    for code, args in cases:
        with raises(code):
            ab.reverse(*args)  # type: ignore[arg-type]
    assert ab.state() == before
    assert ab.reverse("r", original["entry_id"])["replayed"] is False


def test_reversal_key_shares_the_namespace(ab: Ledger) -> None:
    original = ab.transfer("t1", "a", "b", 100)
    with raises("PB003"):
        ab.reverse("t1", original["entry_id"])
    ab.reverse("r1", original["entry_id"], 10)
    with raises("PB003"):
        ab.transfer("r1", "a", "b", 10)


def test_replay_of_a_reversal_shows_its_current_state(ab: Ledger) -> None:
    original = ab.transfer(new_key(), "a", "b", 100)
    reversal = ab.reverse("r1", original["entry_id"])
    ab.reverse("r2", reversal["entry_id"])  # undo the undo
    assert ab.reverse("r1", original["entry_id"]) == {
        "entry_id": reversal["entry_id"], "status": "reversed", "replayed": True,
    }  # fmt: skip
    assert (ab.balance("a"), ab.balance("b")) == (900, 100)


def test_reversing_the_id_the_reversal_itself_gets_is_pb005(ab: Ledger) -> None:
    """Regression: reverse(p_entry_id = the next entry id) used to lock the reversal's own
    freshly claimed row and post a self-reversing entry without postings."""
    ab.transfer(new_key(), "a", "b", 100)
    before = ab.state()
    seq = ab.scalar("SELECT pg_get_serial_sequence('ledger.entry', 'entry_id') AS s")
    guess = ab.scalar(f"SELECT last_value + 1 AS n FROM {seq}")  # the id reverse will claim
    with raises("PB005"):
        ab.reverse("r1", guess)
    assert ab.state() == before
