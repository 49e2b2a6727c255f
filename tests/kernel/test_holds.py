"""hold, capture, void, expire_holds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.kernel.support import Ledger, new_key, raises


def pending(book: Ledger, code: str) -> tuple[int, int, int, int]:
    row = book.account(code)
    return row["balance"], row["pending_out"], row["pending_in"], row["available"]


def test_hold_reserves_then_full_capture_posts(ab: Ledger) -> None:
    hold = ab.hold("h1", "a", "b", 300)
    assert hold["status"] == "pending" and hold["replayed"] is False
    assert pending(ab, "a") == (1000, 300, 0, 700)
    assert pending(ab, "b") == (0, 0, 300, 0)
    assert ab.legs(hold["entry_id"]) == {"a": -300, "b": 300}
    assert ab.statement("b") == []  # nothing posted yet
    assert ab.hold("h1", "a", "b", 300, metadata={"m": 1})["replayed"] is True
    captured = ab.capture(hold["entry_id"])
    assert captured == {"entry_id": hold["entry_id"], "status": "posted", "replayed": False}
    assert pending(ab, "a") == (700, 0, 0, 700)
    assert pending(ab, "b") == (300, 0, 0, 300)
    # Replaying the hold's key now shows its current state.
    assert ab.hold("h1", "a", "b", 300) == {**captured, "replayed": True}


def test_pending_debits_count_against_the_floor(ab: Ledger) -> None:
    ab.hold(new_key(), "a", "b", 800)
    with raises("PB001"):
        ab.transfer(new_key(), "a", "b", 201)
    with raises("PB001"):
        ab.hold(new_key(), "a", "b", 201)
    ab.transfer(new_key(), "a", "b", 200)
    assert ab.account("a")["available"] == 0


def test_pending_credits_count_against_the_ceiling(ab: Ledger) -> None:
    ab.open("capped", "EUR", 0, 100)
    ab.hold(new_key(), "a", "capped", 80)
    with raises("PB002"):
        ab.hold(new_key(), "a", "capped", 21)
    ab.hold(new_key(), "a", "capped", 20)


def test_partial_capture_releases_the_rest(ab: Ledger) -> None:
    hold = ab.hold("h1", "a", "b", 300)
    row = ab.capture(hold["entry_id"], 120)
    assert row["status"] == "posted" and row["replayed"] is False
    assert pending(ab, "a") == (880, 0, 0, 880)
    assert pending(ab, "b") == (120, 0, 0, 120)
    assert ab.legs(hold["entry_id"]) == {"a": -120, "b": 120}
    assert ab.capture(hold["entry_id"])["replayed"] is True  # NULL: whatever was captured
    assert ab.capture(hold["entry_id"], 120)["replayed"] is True
    before = ab.state()
    with raises("PB003"):
        ab.capture(hold["entry_id"], 300)
    with raises("PB003"):
        ab.capture(hold["entry_id"], 100)
    assert ab.state() == before


def test_capture_above_the_hold_is_pb002(ab: Ledger) -> None:
    hold = ab.hold("h1", "a", "b", 300)
    before = ab.state()
    with raises("PB002"):
        ab.capture(hold["entry_id"], 301)
    assert ab.state() == before
    assert ab.capture(hold["entry_id"], 300)["replayed"] is False


def test_void_releases_and_again_is_replayed(ab: Ledger) -> None:
    hold = ab.hold("h1", "a", "b", 300)
    voided = ab.void(hold["entry_id"])
    assert voided == {"entry_id": hold["entry_id"], "status": "voided", "replayed": False}
    assert pending(ab, "a") == (1000, 0, 0, 1000)
    assert pending(ab, "b") == (0, 0, 0, 0)
    assert ab.void(hold["entry_id"]) == {**voided, "replayed": True}
    before = ab.state()
    with raises("PB004"):
        ab.capture(hold["entry_id"])
    with raises("PB004"):  # state (PB004) before the amount check (PB002)
        ab.capture(hold["entry_id"], 5000)
    assert ab.state() == before
    assert ab.hold("h1", "a", "b", 300) == {**voided, "replayed": True}


def test_void_of_posted_is_pb004(ab: Ledger) -> None:
    hold = ab.hold(new_key(), "a", "b", 300)
    ab.capture(hold["entry_id"])
    transfer = ab.transfer(new_key(), "a", "b", 5)
    before = ab.state()
    for entry_id in (hold["entry_id"], transfer["entry_id"]):
        with raises("PB004"):
            ab.void(entry_id)
    assert ab.state() == before


def test_capture_of_a_plain_transfer_is_pb004(ab: Ledger) -> None:
    transfer = ab.transfer(new_key(), "a", "b", 5)
    with raises("PB004"):
        ab.capture(transfer["entry_id"])


@pytest.mark.parametrize("amount", [0, -1])
def test_capture_bad_amount_is_22023(ab: Ledger, amount: int) -> None:
    hold = ab.hold(new_key(), "a", "b", 300)
    with raises("22023"):
        ab.capture(hold["entry_id"], amount)


def test_unknown_entry_is_pb005(ab: Ledger) -> None:
    for call in (lambda: ab.capture(987654321), lambda: ab.void(987654321)):
        with raises("PB005"):
            call()
    with raises("22023"):
        ab.call("capture", None)
    with raises("22023"):
        ab.call("void", None)


def test_hold_bad_input_is_22023(ab: Ledger) -> None:
    before = ab.state()
    for args in (("k", "a", "b", 0), ("k", "a", "a", 1), ("pgb:k", "a", "b", 1)):
        with raises("22023"):
            ab.hold(*args)
    assert ab.state() == before


def test_expired_hold_cannot_be_captured_and_stays_pending(ab: Ledger) -> None:
    hold = ab.hold("h1", "a", "b", 300, expires_at=ab.now() - timedelta(seconds=1))
    assert hold["status"] == "pending"  # may be created already expired
    before = ab.state()
    with raises("PB004"):
        ab.capture(hold["entry_id"])
    with raises("PB004"):
        ab.capture(hold["entry_id"], 100)
    assert ab.state() == before
    assert pending(ab, "a") == (1000, 300, 0, 700)  # still reserved until released
    assert ab.expire_holds() == 1
    assert ab.entry(hold["entry_id"])["status"] == "voided"
    assert pending(ab, "a") == (1000, 0, 0, 1000)
    assert ab.expire_holds() == 0
    assert ab.void(hold["entry_id"])["replayed"] is True


def test_expired_hold_can_be_voided(ab: Ledger) -> None:
    hold = ab.hold("h1", "a", "b", 300, expires_at=ab.now() - timedelta(seconds=1))
    assert ab.void(hold["entry_id"])["replayed"] is False
    assert ab.expire_holds() == 0


def test_expiry_is_part_of_the_parameters(ab: Ledger) -> None:
    at = ab.now() + timedelta(hours=1)
    ab.hold("h1", "a", "b", 300, expires_at=at)
    assert ab.hold("h1", "a", "b", 300, expires_at=at)["replayed"] is True
    with raises("PB003"):
        ab.hold("h1", "a", "b", 300, expires_at=at + timedelta(seconds=1))
    with raises("PB003"):
        ab.hold("h1", "a", "b", 300)


def test_unexpired_hold_captures_and_is_not_expired(ab: Ledger) -> None:
    hold = ab.hold("h1", "a", "b", 300, expires_at=ab.now() + timedelta(hours=1))
    assert ab.expire_holds() == 0
    assert ab.capture(hold["entry_id"])["status"] == "posted"


def test_expire_holds_counts_and_filters_by_tenant(own: Ledger) -> None:
    """On the test's own database: expire_holds(NULL) acts on every tenant."""
    other = type(own)(own.conn, own.tenant + "-other")
    for book in (own, other):
        book.open("a")
        book.open("b")
        book.fund("a", 1000)
    past = own.now() - timedelta(seconds=1)
    own.hold(new_key(), "a", "b", 10, expires_at=past)
    own.hold(new_key(), "a", "b", 20, expires_at=past)
    own.hold(new_key(), "a", "b", 30)  # no expiry
    own.hold(new_key(), "a", "b", 40, expires_at=past + timedelta(hours=1))
    other.hold(new_key(), "a", "b", 50, expires_at=past)
    other.hold(new_key(), "a", "b", 60, expires_at=past)
    assert own.expire_holds() == 2
    assert own.account("a")["pending_out"] == 70
    assert other.account("a")["pending_out"] == 110
    other.hold(new_key(), "a", "b", 70, expires_at=past)
    assert own.expire_holds(everywhere=True) == 3
    assert other.account("a")["pending_out"] == 0
    assert own.expire_holds(everywhere=True) == 0
    assert own.verify(everywhere=True) == []
