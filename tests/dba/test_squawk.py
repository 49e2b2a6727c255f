"""Migration safety: squawk lints every migration and rollback; each finding is fixed or
justified in place (a comment line, then `-- squawk-ignore <rule>`), see .squawk.toml."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pgbalance import paths

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".squawk.toml"
_IGNORE = re.compile(r"^\s*--\s*squawk-ignore(-file)?\b")


def _squawk() -> str:
    """The squawk binary of this environment (squawk-cli is in the dev extra)."""
    beside_python = Path(sys.executable).parent / "squawk"
    found = str(beside_python) if beside_python.is_file() else shutil.which("squawk")
    if not found:
        pytest.fail("squawk not found: `pip install squawk-cli` (it is in the dev extra; "
                    "`make install` installs it)")  # fmt: skip
    return found


def _lint(files: list[Path]) -> list[dict[str, Any]]:
    out = subprocess.run(
        [_squawk(), "--config", str(CONFIG), "--reporter", "json", *map(str, files)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if out.returncode not in (0, 1):
        pytest.fail(f"squawk failed ({out.returncode}): {out.stderr}{out.stdout}")
    findings: list[dict[str, Any]] = json.loads(out.stdout or "[]")
    return findings


def _migration_files() -> list[Path]:
    return sorted(paths.migrations_dir().glob("*.sql"))


def test_migrations_pass_squawk() -> None:
    files = _migration_files()
    assert files, "no migrations found"
    findings = _lint(files)
    report = "\n".join(
        f"{Path(f['file']).name}:{f['line']}: {f['rule_name']}: {f['message']}" for f in findings
    )
    assert not findings, (
        "squawk findings: fix each, or justify it with a comment line followed by "
        f"`-- squawk-ignore <rule>` right above the line (see .squawk.toml):\n{report}"
    )


def test_every_ignore_is_justified() -> None:
    """An ignore needs a comment line of its own right above it saying why."""
    unjustified: list[str] = []
    for path in _migration_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if not _IGNORE.match(line):
                continue
            above = lines[i - 1].strip() if i > 0 else ""
            if not above.startswith("--") or _IGNORE.match(above) or len(above) < 12:
                unjustified.append(f"{path.name}:{i + 1}: {line.strip()}")
    assert not unjustified, "squawk-ignore without a justification comment above it:\n" + (
        "\n".join(unjustified)
    )


def test_squawk_catches_an_unsafe_migration(tmp_path: Path) -> None:
    """The configuration leaves the hazard rules on: a blocking change to a live table fails."""
    bad = tmp_path / "9999_unsafe.sql"
    bad.write_text(
        "ALTER TABLE ledger.account ADD COLUMN note text NOT NULL DEFAULT '';\n"
        "CREATE INDEX account_note_idx ON ledger.account (note);\n"
        "ALTER TABLE ledger.entry ALTER COLUMN amount TYPE numeric;\n"
    )
    rules = {f["rule_name"] for f in _lint([bad])}
    assert {"require-lock-timeout", "changing-column-type"} <= rules, rules
