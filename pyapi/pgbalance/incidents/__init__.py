"""Incident replays: each reproduces a real failure with its unprotected pattern and then
runs the same load against pgbalance (`pgbalance run` prints them side by side).

Register an incident by appending an instance to INCIDENTS.
"""

from __future__ import annotations

from pgbalance.incidents.base import Incident
from pgbalance.incidents.booking import BookingDuplicateWebhooks
from pgbalance.incidents.fees import FeesSplitWrites
from pgbalance.incidents.tuition import TuitionDoubleSubmit
from pgbalance.incidents.wallet import WalletDoubleDeduction

INCIDENTS: list[Incident] = [
    WalletDoubleDeduction(),
    BookingDuplicateWebhooks(),
    FeesSplitWrites(),
    TuitionDoubleSubmit(),
]
