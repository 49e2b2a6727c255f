"""The worked examples of docs/workflows/*.md run as written, with psql, on a database that
already holds other tenants' entries: every statement succeeds except those the text marks
`-- ERROR (SQLSTATE): ...`, which fail with exactly that SQLSTATE, in that order. Ids are taken
from earlier calls with `\\gset`, so a hard-coded id would show up here as PB005."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import psycopg
import pytest

from pgbalance import docgen

DOCS = Path(__file__).resolve().parents[2] / "docs" / "workflows"
PAGES = sorted(DOCS.glob("*.md"))

_BLOCK = re.compile(r"^## Worked example\n.*?^```sql\n(.*?)^```", re.M | re.S)
_MARKED = re.compile(r"^-- ERROR \((\w{5})\):", re.M)
_RAISED = re.compile(r"^psql:[^:]+:\d+: ERROR:\s+(\w{5})\s*$", re.M)
_TENANT = re.compile(r"\w+\.\w+\('([^']+)',")


def worked_example(page: Path) -> str:
    match = _BLOCK.search(page.read_text(encoding="utf-8"))
    assert match, f"{page.name} has no ```sql block under '## Worked example'"
    return match.group(1)


def run_psql(dsn: str, script: str, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.sql"
    path.write_text(script, encoding="utf-8")
    args = [docgen.pg_tool("psql", dsn), f"--dbname={docgen.client_conninfo(dsn)}", "-X", "-q",
            "-v", "ON_ERROR_STOP=0", "-v", "VERBOSITY=sqlstate", "-P", "pager=off",
            "-f", str(path)]  # fmt: skip
    out = subprocess.run(args, env=docgen.client_env(dsn), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, check=False, timeout=120)  # fmt: skip
    assert out.returncode == 0, f"psql exited {out.returncode}:\n{out.stdout[-3000:]}"
    return out.stdout


def test_every_workflow_page_has_a_worked_example() -> None:
    assert [p.stem for p in PAGES] == ["booking", "fees", "tuition", "wallet"]
    for page in PAGES:
        assert _MARKED.search(worked_example(page)), f"{page.name} shows no refusal"


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_worked_example_runs_as_written(page: Path, dsn: str, tmp_path: Path) -> None:
    script = worked_example(page)
    expected = _MARKED.findall(script)
    match = _TENANT.search(script)
    assert match, f"{page.name}: no tenant in the first call"
    tenant = match.group(1)
    # Another tenant first, with the same script: the ids the real run gets are not the
    # first ones the database hands out.
    warmup = script.replace(f"'{tenant}'", f"'{tenant}-before'")
    for name, text in (("before", warmup), (page.stem, script)):
        output = run_psql(dsn, text, tmp_path, name)
        raised = _RAISED.findall(output)
        assert raised == expected, (
            f"docs/workflows/{page.name}: the worked example raised {raised}, the text marks "
            f"{expected}:\n{output[-3000:]}"
        )
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT * FROM ledger.verify()").fetchall() == []


def test_a_hard_coded_id_is_caught(dsn: str, tmp_path: Path) -> None:
    """The check can fail: an id that belongs to another tenant is PB005, not in the text."""
    script = "SELECT * FROM ledger.get_entry('docs-test', 1);\n"
    assert _RAISED.findall(run_psql(dsn, script, tmp_path, "bad")) == ["PB005"]
