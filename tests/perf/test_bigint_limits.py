"""Issue 9 item 5: an account with no floor or ceiling is still bounded by what a bigint holds;
past it a movement raises PB001/PB002 (never 22003), striped accounts included (the row plus
its stripes count), in transfer_batch items too. Each scenario failed on main before the
movement engine: (a) left balances that get_account, statement and balance_at could not sum
(22003), (b) failed the whole batch with 22003."""

from __future__ import annotations

from datetime import timedelta

from psycopg.types.json import Jsonb

from tests.kernel.support import Ledger, detail, new_key, raises

MAX = 9223372036854775807


def test_striped_account_at_the_bigint_ceiling_refuses_more(ledger: Ledger) -> None:
    for code in ("src", "src2", "hot"):
        ledger.open(code, "EUR", None, None)
    ledger.transfer(new_key(), "src", "hot", MAX)
    ledger.call("set_account_stripes", "hot", 4)
    before = ledger.state()
    with raises("PB002") as info:
        ledger.transfer(new_key(), "src2", "hot", 1)
    assert detail(info)["account"] == "hot"
    assert ledger.state() == before
    # everything still reads
    assert ledger.balance("hot") == MAX
    assert ledger.rows("SELECT * FROM ledger.statement(%s, 'hot')", (ledger.tenant,))
    assert ledger.balance_at("hot", ledger.now() + timedelta(seconds=1)) == MAX
    with raises("PB004"):  # not empty, so not closable: no 22003 on the way there
        ledger.close("hot")


def test_striped_account_counts_its_stripes_at_the_floor(ledger: Ledger) -> None:
    for code in ("a", "b", "hot"):
        ledger.open(code, "EUR", None, None)
    ledger.call("set_account_stripes", "hot", 4)
    ledger.transfer(new_key(), "hot", "a", MAX)  # the stripes hold -MAX
    with raises("PB001") as info:
        ledger.transfer(new_key(), "hot", "b", 2)
    assert detail(info)["account"] == "hot"
    assert ledger.balance("hot") == -MAX


def test_batch_item_past_a_null_floor_fails_alone(ledger: Ledger) -> None:
    ledger.open("nf", "EUR", None, None)
    ledger.open("b1", "EUR", None, None)
    ledger.open("b2", "EUR", None, None)
    rows = ledger.rows(
        "SELECT * FROM ledger.transfer_batch(%s, %s, false) ORDER BY idx",
        (ledger.tenant, Jsonb([{"key": "x1", "from": "nf", "to": "b1", "amount": MAX},
                               {"key": "x2", "from": "nf", "to": "b2", "amount": 2}])),
    )  # fmt: skip
    assert [r["error_code"] for r in rows] == [None, "PB001"]
    assert (ledger.balance("nf"), ledger.balance("b1"), ledger.balance("b2")) == (-MAX, MAX, 0)
    with raises("PB001") as info:
        ledger.rows("SELECT * FROM ledger.transfer_batch(%s, %s, true)",
                    (ledger.tenant, Jsonb([{"key": "x3", "from": "nf", "to": "b2",
                                            "amount": 2}])))  # fmt: skip
    assert detail(info)["idx"] == "1" and detail(info)["account"] == "nf"


def test_hold_past_the_bigint_pending_range_is_a_limit_error(ledger: Ledger) -> None:
    ledger.open("nf", "EUR", None, None)
    ledger.open("to", "EUR", None, None)
    ledger.hold(new_key(), "nf", "to", MAX)
    before = ledger.state()
    with raises("PB001"):
        ledger.hold(new_key(), "nf", "to", 1)
    assert ledger.state() == before
