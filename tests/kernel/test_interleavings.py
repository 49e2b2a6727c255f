"""Deterministic interleavings (tests/helpers/scheduler.py): a step returns once it has
finished or is provably blocked on a lock, so each race is replayed in one exact order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.scheduler import Scheduler
from tests.kernel.support import Ledger, new_key

pytestmark = pytest.mark.concurrency


@pytest.fixture
def sched(kernel_dsn: str) -> Iterator[Scheduler]:
    with Scheduler(kernel_dsn) as s:
        yield s


@pytest.fixture
def ab(ledger: Ledger) -> Ledger:
    ledger.open("a")
    ledger.open("b")
    ledger.fund("a", 1000)
    ledger.fund("b", 1000)
    return ledger


def test_unprotected_lock_order_deadlocks_the_kernel_does_not(ab: Ledger, sched: Scheduler) -> None:
    """The baseline: locking accounts in argument order (unprotected) deadlocks on opposite
    transfers, and 40P01 surfaces; the kernel's account_id order makes the same
    interleaving a plain wait."""
    s1, s2 = sched.session("s1"), sched.session("s2")
    lock = "SELECT 1 FROM ledger.account WHERE tenant_id = %s AND code = %s FOR NO KEY UPDATE"
    for s in (s1, s2):
        s.step("SET deadlock_timeout = '50ms'")
        s.step("BEGIN")
    assert s1.step(lock, (ab.tenant, "a")).status == "done"  # unprotected: a then b
    assert s2.step(lock, (ab.tenant, "b")).status == "done"  # unprotected: b then a
    assert s1.step(lock, (ab.tenant, "b")).status == "blocked"
    second = s2.step(lock, (ab.tenant, "a"))
    if second.status == "blocked":  # either may be chosen as the deadlock victim
        outcomes = [s1.finish(), s2.finish()]
    else:
        outcomes = [second, s1.finish()]
    assert sorted(str(o.sqlstate) for o in outcomes) == ["40P01", "None"]
    s1.step("ROLLBACK")
    s2.step("ROLLBACK")

    transfer = "SELECT status FROM ledger.transfer(%s, %s, %s, %s, 10)"
    for s in (s1, s2):
        s.step("BEGIN")
    assert s1.step(transfer, (ab.tenant, "t1", "a", "b")).status == "done"
    assert s2.step(transfer, (ab.tenant, "t2", "b", "a")).status == "blocked"
    assert s1.step("COMMIT").status == "done"
    assert s2.finish().status == "done"
    assert s2.step("COMMIT").status == "done"
    assert (ab.balance("a"), ab.balance("b")) == (1000, 1000)


@pytest.mark.parametrize("first_ends", ["COMMIT", "ROLLBACK"])
def test_same_key_waits_for_the_first_call(ab: Ledger, sched: Scheduler, first_ends: str) -> None:
    s1, s2 = sched.session("s1"), sched.session("s2")
    call = "SELECT replayed FROM ledger.transfer(%s, 'k', 'a', 'b', 10)"
    s1.step("BEGIN")
    assert s1.step(call, (ab.tenant,)).value is False
    assert s2.step(call, (ab.tenant,)).status == "blocked"  # on the key claim
    s1.step(first_ends)
    # Committed: the waiter replays it. Rolled back: the key is free and the waiter posts.
    assert s2.finish().value is (first_ends == "COMMIT")
    assert ab.balance("b") == 1010


def test_same_key_other_parameters_waits_then_pb003(ab: Ledger, sched: Scheduler) -> None:
    s1, s2 = sched.session("s1"), sched.session("s2")
    s1.step("BEGIN")
    s1.step("SELECT * FROM ledger.transfer(%s, 'k', 'a', 'b', 10)", (ab.tenant,))
    assert s2.step("SELECT * FROM ledger.transfer(%s, 'k', 'a', 'b', 11)", (ab.tenant,)).status \
        == "blocked"  # fmt: skip
    s1.step("COMMIT")
    assert s2.finish().sqlstate == "PB003"


@pytest.mark.parametrize("winner", ["capture", "void"])
def test_capture_and_void_serialise_on_the_entry(
    ab: Ledger, sched: Scheduler, winner: str
) -> None:
    hold = ab.hold(new_key(), "a", "b", 100)["entry_id"]
    calls = {
        "capture": "SELECT status, replayed FROM ledger.capture(%s, %s)",
        "void": "SELECT status, replayed FROM ledger.void(%s, %s)",
    }
    loser = "void" if winner == "capture" else "capture"
    s1, s2 = sched.session("s1"), sched.session("s2")
    s1.step("BEGIN")
    assert s1.step(calls[winner], (ab.tenant, hold)).status == "done"
    assert s2.step(calls[loser], (ab.tenant, hold)).status == "blocked"
    s1.step("COMMIT")
    assert s2.finish().sqlstate == "PB004"
    assert ab.entry(hold)["status"] == ("posted" if winner == "capture" else "voided")
    assert ab.account("a")["pending_out"] == 0


@pytest.mark.parametrize("floor", [0, None], ids=["limited", "unlimited"])
def test_close_and_deposit_serialise(ab: Ledger, sched: Scheduler, floor: int | None) -> None:
    """Deposit first: close sees the money (PB004). Close first: the deposit sees a closed
    account (PB007). Never a closed account holding money."""
    s1, s2 = sched.session("s1"), sched.session("s2")
    deposit = "SELECT status FROM ledger.transfer(%s, %s, 'a', %s, 10)"
    close = "SELECT closed FROM ledger.close_account(%s, %s)"

    ab.open("z1", "EUR", floor, None)
    s1.step("BEGIN")
    assert s1.step(deposit, (ab.tenant, new_key(), "z1")).status == "done"
    assert s2.step(close, (ab.tenant, "z1")).status == "blocked"
    s1.step("COMMIT")
    assert s2.finish().sqlstate == "PB004"

    ab.open("z2", "EUR", floor, None)
    s1.step("BEGIN")
    assert s1.step(close, (ab.tenant, "z2")).value is True
    assert s2.step(deposit, (ab.tenant, new_key(), "z2")).status == "blocked"
    s1.step("COMMIT")
    assert s2.finish().sqlstate == "PB007"
    assert ab.account("z2")["balance"] == 0


def test_statement_follows_the_order_postings_took_effect(ab: Ledger, sched: Scheduler) -> None:
    """The first transaction starts earlier but posts later: the statement orders by when
    the postings took effect, so its running balance is one the account really had."""
    s1, s2 = sched.session("s1"), sched.session("s2")
    ab.transfer(new_key(), "a", ab.world(), 1000)  # a: 0
    s1.step("BEGIN")
    s1.step("SELECT 1")  # s1's transaction (and now()) starts first
    s2.step("BEGIN")
    s2.step("SELECT * FROM ledger.transfer(%s, 'in', 'b', 'a', 50)", (ab.tenant,))
    assert s1.step("SELECT * FROM ledger.transfer(%s, 'out', 'a', 'b', 50)", (ab.tenant,)).status \
        == "blocked"  # fmt: skip
    s2.step("COMMIT")
    assert s1.finish().status == "done"
    s1.step("COMMIT")
    lines = ab.statement("a")
    assert [(line["amount"], line["balance_after"]) for line in lines[-2:]] == [(50, 50), (-50, 0)]
    assert all(line["balance_after"] >= 0 for line in lines)


@pytest.mark.parametrize("floor", [0, None], ids=["limited", "unlimited"])
def test_statement_never_shows_a_balance_the_account_did_not_have(
    ab: Ledger, sched: Scheduler, floor: int | None
) -> None:
    """Two deposits overlap; whichever way they serialise (or not), the statement's running
    balances are the balances the account had, in commit order."""
    ab.open("z", "EUR", floor, None)
    s1, s2 = sched.session("s1"), sched.session("s2")
    deposit = "SELECT status FROM ledger.transfer(%s, %s, %s, 'z', %s)"
    s1.step("BEGIN")
    assert s1.step(deposit, (ab.tenant, "first", "a", 50)).status == "done"
    s2.step("BEGIN")
    if s2.step(deposit, (ab.tenant, "second", "b", 30)).status == "blocked":
        s1.step("COMMIT")
        assert s2.finish().status == "done"
        s2.step("COMMIT")
        had = [50, 80]
    else:  # not serialised on the account: s2 commits first
        s2.step("COMMIT")
        s1.step("COMMIT")
        had = [30, 80]
    assert [line["balance_after"] for line in ab.statement("z")] == had
