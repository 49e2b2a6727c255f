"""README.md's Layout lists what is in the tree: every path it names exists, and every
module, package and data file of pyapi/pgbalance (and every directory of sql/ and tests/)
is named there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pyapi" / "pgbalance"
# Entries every package has; the layout need not spell them out.
IMPLIED = {"__init__.py", "__main__.py", "py.typed", "__pycache__"}


def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def _block(text: str) -> str:
    return text.split("## Layout\n", 1)[1].split("\n## ", 1)[0]


def layout(text: str) -> list[tuple[int, str]]:
    """(indent, name) of each entry of a README's Layout block, in order."""
    entries = []
    for line in _block(text).splitlines():
        match = re.match(r"^( {4,})([\w.][\w./]*(?: [\w.]+/)*)(?:\s|$)", line)
        if match and (match.group(2).endswith("/") or "." in match.group(2)):
            for name in match.group(2).split():
                entries.append((len(match.group(1)), name))
    return entries


def named_paths(text: str) -> set[Path]:
    """The paths the Layout names: an entry is relative to the closest less-indented
    directory entry above it (sub-headings such as "the operator CLI" carry no path)."""
    paths: set[Path] = set()
    stack: list[tuple[int, Path]] = []
    for indent, name in layout(text):
        while stack and stack[-1][0] >= indent:
            stack.pop()
        base = stack[-1][1] if stack else ROOT
        path = base / name.rstrip("/")
        paths.add(path)
        if name.endswith("/") and " " not in name:
            stack.append((indent, path))
    return paths


def missing(text: str) -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in named_paths(text) if not p.exists())


def unnamed(text: str) -> list[str]:
    named, mentioned = named_paths(text), _mentioned(text)
    wanted = [p for p in PACKAGE.iterdir() if p.name not in IMPLIED]
    wanted += [p for p in (PACKAGE / "harness").iterdir() if p.name not in IMPLIED]
    wanted += [p for p in (ROOT / "sql").iterdir() if p.is_dir()]
    wanted += [p for p in (ROOT / "tests").iterdir() if p.is_dir() and p.name not in IMPLIED]
    return sorted(str(p.relative_to(ROOT)) for p in wanted
                  if p not in named and p.name not in mentioned)  # fmt: skip


def _mentioned(text: str) -> set[str]:
    """Names the Layout mentions in prose (tests/: "kernel/, workflows/, ...")."""
    return {m.rstrip("/") for m in re.findall(r"\b([\w.]+/)", _block(text))}


def test_every_path_the_layout_names_exists() -> None:
    assert missing(readme()) == [], "README.md Layout names paths that do not exist"


def test_the_layout_names_every_part_of_the_package() -> None:
    assert unnamed(readme()) == [], "README.md Layout does not name them"


def test_the_checks_see_a_stale_and_a_missing_entry() -> None:
    """Shown able to fail: a layout naming a file that is gone and leaving one out."""
    text = readme().replace("        db.py ", "        gone.py ", 1)
    assert missing(text) == ["pyapi/pgbalance/gone.py"]
    assert unnamed(text) == ["pyapi/pgbalance/db.py"]
