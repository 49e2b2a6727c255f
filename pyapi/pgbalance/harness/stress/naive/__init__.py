"""--naive: the same workloads against the unprotected patterns behind the incidents, in a
scratch schema of their own (naive_<run>), so the harness shows it can see what pgbalance
prevents.

Each naive routine is what the incidents' applications did: read the state, decide in the
client, then write values computed in the client (check-then-update), with idempotency by
"SELECT, and INSERT if absent", and status flags kept apart from the money they guard (two
authorities over one balance). A short pause between check and write stands for the
application's own work. Every write targets the naive scratch schema: nothing here ever
touches pgbalance's own tables.
"""

from __future__ import annotations

from pgbalance.harness.stress.naive.booking import NaiveBooking
from pgbalance.harness.stress.naive.fees import NaiveFees
from pgbalance.harness.stress.naive.transfers import NaiveTransfers
from pgbalance.harness.stress.naive.tuition import NaiveTuition
from pgbalance.harness.stress.naive.wallet import NaiveWallet
from pgbalance.harness.stress.workload.base import Scenario

NAIVE_SCENARIOS: dict[str, type[Scenario]] = {
    "transfers": NaiveTransfers,
    "wallet": NaiveWallet,
    "booking": NaiveBooking,
    "fees": NaiveFees,
    "tuition": NaiveTuition,
}
