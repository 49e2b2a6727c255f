"""Incident replays: each reproduces a real failure with its unprotected pattern and then
runs the same load against pgbalance (`pgbalance run` prints them side by side).

Register an incident by appending an instance to INCIDENTS.
"""

from __future__ import annotations

from pgbalance.harness.incidents.base import Incident
from pgbalance.harness.incidents.booking import BookingDuplicateWebhooks
from pgbalance.harness.incidents.fees import FeesSplitWrites
from pgbalance.harness.incidents.tuition import TuitionDoubleSubmit
from pgbalance.harness.incidents.wallet import WalletDoubleDeduction

INCIDENTS: list[Incident] = [
    WalletDoubleDeduction(),
    BookingDuplicateWebhooks(),
    FeesSplitWrites(),
    TuitionDoubleSubmit(),
]
