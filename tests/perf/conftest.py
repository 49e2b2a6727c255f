"""Fixtures of the performance-feature tests (transfer_batch, striped accounts, the bench):
the kernel tests' shared database, isolated by tenant (tests/kernel/conftest.py)."""

from __future__ import annotations

from tests.kernel.conftest import kconnect, kernel_conn, kernel_dsn, ledger, own

__all__ = ["kconnect", "kernel_conn", "kernel_dsn", "ledger", "own"]
