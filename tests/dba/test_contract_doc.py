"""docs/contract.md documents every public function a fresh install has, with the parameter
names and types of the catalog, in the catalog's order: a function added, renamed or given
another parameter fails here until the contract says so."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgbalance import docgen

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "contract.md"

# The contract spells some types the short way.
_TYPES = {"timestamptz": "timestamp with time zone", "int": "integer"}


def parameters(arguments: str) -> list[tuple[str, str]]:
    """(name, type) of each parameter of `p_a text, p_b bigint DEFAULT 0, ...`."""
    result = []
    for part in docgen._split_arguments(arguments):
        name, rest = part.split(" ", 1)
        kind = rest.split(" DEFAULT ", 1)[0].strip()
        result.append((name, _TYPES.get(kind, kind)))
    return result


def documented(text: str, schema: str, name: str) -> list[str]:
    """Every `schema.name(p_...)` signature the text gives for the function."""
    return re.findall(rf"\b{schema}\.{name}\((p_[^)]*)\)", text)


def test_the_check_can_fail() -> None:
    text = "`ledger.transfer(p_tenant text, p_key text)`"
    assert parameters(documented(text, "ledger", "transfer")[0]) == [
        ("p_tenant", "text"), ("p_key", "text")]  # fmt: skip
    assert documented(text, "ledger", "hold") == []


def test_contract_documents_every_public_function(db: psycopg.Connection[Any]) -> None:
    text = CONTRACT.read_text(encoding="utf-8")
    functions = docgen.api_functions(db)
    assert functions, "no public function installed"
    problems = []
    for fn in functions:
        signatures = documented(text, fn.schema, fn.name)
        want = parameters(fn.arguments)
        if not signatures:
            problems.append(f"{fn.schema}.{fn.name}({fn.arguments}) is not in docs/contract.md")
        for signature in signatures:
            if parameters(signature) != want:
                problems.append(f"docs/contract.md gives {fn.schema}.{fn.name}({signature}); "
                                f"the catalog has ({fn.arguments})")  # fmt: skip
    if problems:
        pytest.fail("\n".join(problems))
