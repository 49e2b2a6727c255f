"""Generated documents that cannot drift: docs/schema.sql and docs/api.md must equal what a
fresh install of this tree generates. When one fails, run `make docs` and commit the diff."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgbalance import docgen, errors

ROOT = Path(__file__).resolve().parents[2]
HINT = "run `make docs` (pgbalance docs) and commit the result"


def _compare(path: Path, generated: str) -> None:
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing: {HINT}"
    current = path.read_text(encoding="utf-8")
    if current != generated:
        diff = difflib.unified_diff(current.splitlines(), generated.splitlines(),
                                    f"{path.name} (checked in)", f"{path.name} (generated)",
                                    lineterm="", n=1)  # fmt: skip
        pytest.fail(f"{path.relative_to(ROOT)} is out of date: {HINT}\n"
                    + "\n".join(list(diff)[:60]))  # fmt: skip


def test_schema_snapshot_is_current(dsn: str) -> None:
    _compare(ROOT / "docs" / "schema.sql", docgen.schema_sql(dsn))


def test_api_reference_is_current(db: psycopg.Connection[Any]) -> None:
    generated = docgen.api_markdown(db)
    functions = docgen.api_functions(db)
    assert len(functions) >= 10
    for fn in functions:
        assert f"### `{fn.schema}.{fn.name}`" in generated, f"{fn.schema}.{fn.name} left out"
    _compare(ROOT / "docs" / "api.md", generated)


def test_generators_see_changes(dsn: str, db: psycopg.Connection[Any]) -> None:
    """Both generators are deterministic, and neither is blind to a change."""
    schema, api = docgen.schema_sql(dsn), docgen.api_markdown(db)
    assert docgen.schema_sql(dsn) == schema and docgen.api_markdown(db) == api
    db.execute("ALTER TABLE ledger.account ADD COLUMN pgb_probe text")
    assert docgen.schema_sql(dsn) != schema
    db.execute("COMMENT ON FUNCTION ledger.get_account(text, text) IS 'changed'")
    changed = docgen.api_markdown(db)
    assert changed != api and "\nchanged\n" in changed


def test_error_table_is_the_registry_and_covers_the_catalog(db: psycopg.Connection[Any]) -> None:
    """The api.md error table lists pgbalance.errors, and a code the SQL raises that no
    class declares stops the generator."""
    table = docgen.api_markdown(db).split('<a id="errors"></a>')[1]
    for cls in errors.BY_SQLSTATE.values():
        assert f"| `{cls.sqlstate}` | {cls.name} |" in table
    db.execute("CREATE FUNCTION ledger.pgb_probe() RETURNS void LANGUAGE plpgsql AS "
               "$$ BEGIN PERFORM ledger._raise('PB999', 'new'); END $$")  # fmt: skip
    with pytest.raises(docgen.DocgenError, match="PB999"):
        docgen.api_markdown(db)


def test_readme_links_the_documents() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for doc in ("docs/api.md", "docs/operations.md", "docs/scaling.md", "docs/schema.sql"):
        assert doc in readme, f"README.md does not link {doc}"
        assert (ROOT / doc).is_file(), f"{doc} is missing"
