"""examples/*.sql run with psql against a fresh install print exactly examples/*.out.
When one differs on purpose, run `make docs` and review the new .out in the diff."""

from __future__ import annotations

import difflib
from pathlib import Path

import psycopg
import pytest

from pgbalance import docgen

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = docgen.example_files(ROOT / "examples")


def test_there_are_examples() -> None:
    assert EXAMPLES, "examples/*.sql is empty"


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_prints_its_expected_output(example: Path, dsn: str) -> None:
    expected = docgen.expected_path(example)
    assert expected.is_file(), f"{expected.name} is missing: run `make docs`"
    got = docgen.run_example(dsn, example)
    want = expected.read_text(encoding="utf-8")
    if got != want:
        diff = difflib.unified_diff(want.splitlines(), got.splitlines(), expected.name,
                                    "psql output", lineterm="", n=2)  # fmt: skip
        pytest.fail(f"examples/{example.name} printed something else (run `make docs` if "
                    "intended):\n" + "\n".join(list(diff)[:60]))  # fmt: skip
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT * FROM ledger.verify()").fetchall() == []


def test_a_failing_example_is_reported(dsn: str, tmp_path: Path) -> None:
    """ON_ERROR_STOP is on: an unexpected error fails the example instead of being recorded."""
    bad = tmp_path / "examples" / "bad.sql"
    bad.parent.mkdir()
    bad.write_text("SELECT * FROM ledger.get_account('nobody', 'nothing');\nSELECT 1;\n")
    with pytest.raises(docgen.DocgenError, match="bad.sql failed"):
        docgen.run_example(dsn, bad)
