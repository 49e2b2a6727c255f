"""Asserting on database errors by SQLSTATE (never on message text), shared by the kernel
and workflow tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest


@contextmanager
def raises(code: str) -> Iterator[pytest.ExceptionInfo[psycopg.Error]]:
    """Expect a database error with SQLSTATE `code` (never matches on message text)."""
    with pytest.raises(psycopg.Error) as info:
        yield info
    assert info.value.sqlstate == code, f"expected {code}, got {info.value.sqlstate}: {info.value}"


def detail(info: pytest.ExceptionInfo[psycopg.Error]) -> dict[str, str]:
    """The `k=v k=v` pairs of an error's DETAIL."""
    text = info.value.diag.message_detail or ""
    return dict(part.split("=", 1) for part in text.split() if "=" in part)
