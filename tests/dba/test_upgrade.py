"""The upgrade path: a database installed from an earlier commit of main, with data in it,
upgraded by `pgbalance migrate`, has exactly the schema of a fresh install, and its data and
ledger.verify() are intact.

The earlier install is the first kernel commit (UPGRADE_FROM), read from this clone's own
history with `git archive`. CI runs on a full clone of main; if the commit is missing (a
shallow clone, an sdist), the test fails and says how to fix it: it never skips silently.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgbalance import migrate as pgmigrate
from pgbalance import paths
from tests.dba._support import kernel_dump, ledger_rows, put_ledger_data, verify_rows

# The first kernel commit on main: migrations/0001_ledger.sql + sql/ as first released.
UPGRADE_FROM = "9cbefa4"


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False,
                          timeout=60)  # fmt: skip


def materialize(commit: str, dest: Path) -> Path:
    """migrations/ and sql/ as they were at `commit`, extracted under dest."""
    root = paths.checkout_root()
    if root is None or not (root / ".git").exists():
        pytest.fail(f"the upgrade test reads commit {commit} from git history, but "
                    f"{root or 'this installation'} is not a git checkout")  # fmt: skip
    if _git(root, "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        pytest.fail(
            f"commit {commit} (the pinned upgrade origin) is not in this clone's history: "
            "fetch the full history of main (`git fetch --unshallow` or clone without --depth)"
        )
    out = _git(root, "archive", "--format=tar", commit, "migrations", "sql")
    if out.returncode != 0:
        pytest.fail(f"git archive {commit} failed: {out.stderr.decode(errors='replace')}")
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
        tar.extractall(dest, filter="data")
    assert (dest / "migrations").is_dir() and (dest / "sql").is_dir()
    return dest


def _contains(after: Any, before: Any) -> bool:
    """Every column the row had before the upgrade still has the same value."""
    return isinstance(after, dict) and all(after.get(k) == v for k, v in before.items())


def test_upgrade_from_first_kernel_commit_equals_fresh_install(
    empty_dsn: str, dsn: str, tenant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_home = materialize(UPGRADE_FROM, tmp_path / "old")

    # 1. Install the old release and use it.
    current_home = os.environ.get("PGBALANCE_HOME")
    monkeypatch.setenv("PGBALANCE_HOME", str(old_home))
    old = pgmigrate.migrate(empty_dsn)
    assert old.applied == ["0001_ledger"]
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        put_ledger_data(conn, tenant)
        assert verify_rows(conn) == []
        rows_before = ledger_rows(conn)

    # 2. Upgrade with this tree, as a DBA would.
    if current_home is None:
        monkeypatch.delenv("PGBALANCE_HOME")
    else:
        monkeypatch.setenv("PGBALANCE_HOME", current_home)
    upgrade = pgmigrate.migrate(empty_dsn)
    assert "0001_ledger" not in upgrade.applied

    # 3. The schema is the one a fresh install of this tree has (`dsn` is one).
    upgraded, fresh = kernel_dump(empty_dsn), kernel_dump(dsn)
    assert upgraded == fresh, _first_difference(upgraded, fresh)

    # 4. The data is intact, verify is clean, and the upgraded kernel works on old rows.
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        rows_after = ledger_rows(conn)
        for table, before in rows_before.items():
            after = rows_after[table]
            assert len(after) == len(before), table
            assert all(_contains(a, b) for a, b in zip(after, before, strict=True)), table
        assert verify_rows(conn) == []
        hold = conn.execute(
            "SELECT entry_id FROM ledger.entry WHERE tenant_id = %s AND idempotency_key = %s",
            (tenant, "hold-open"),
        ).fetchone()
        assert hold is not None
        captured = conn.execute("SELECT status FROM ledger.capture(%s, %s)",
                                (tenant, hold[0])).fetchone()  # fmt: skip
        assert captured == ("posted",)
        replay = conn.execute(
            "SELECT replayed FROM ledger.transfer(%s, 'pay-1', 'alice', 'bob', 1200)", (tenant,)
        ).fetchone()
        assert replay == (True,)
        assert verify_rows(conn) == []


def _first_difference(a: str, b: str) -> str:
    import difflib

    diff = difflib.unified_diff(a.splitlines(), b.splitlines(), "upgraded", "fresh install",
                                lineterm="", n=2)  # fmt: skip
    text = "\n".join(list(diff)[:80])
    return "upgraded schema differs from a fresh install (a change to an applied migration, " \
           "or an object sql/ no longer creates but an old install still has?):\n" + text


def test_schema_comparison_sees_a_difference(db: psycopg.Connection[Any], dsn: str) -> None:
    """The comparison is not blind: the same install minus one index differs."""
    before = kernel_dump(dsn)
    db.execute("DROP INDEX ledger.posting_time_brin")
    assert kernel_dump(dsn) != before
