"""Migration file names: from 0007 on, one number per migration, and a name that says the
change it makes, not why it was made. The three 0006 files (ordered by `-- depends:`) are
applied migrations and keep their names: an applied migration is never renamed."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from pgbalance import paths

# Numbers below this were applied before the rule; their names stay as they shipped.
FIRST_RULED = 7
# Words that give a motive or a mood instead of the change (`0006_perf_stripes`).
MOTIVE_WORDS = frozenset(
    {"perf", "performance", "speed", "speedup", "fast", "faster", "optimize", "optimise",
     "improve", "improved", "fix", "fixes", "hotfix", "cleanup", "refactor", "tweak", "misc",
     "tmp", "temp", "wip", "hack"}
)  # fmt: skip
_NAME = re.compile(r"^(\d{4})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql$")


def naming_problems(names: Iterable[str]) -> list[str]:
    """What is wrong with these forward migration file names (empty: nothing)."""
    problems: list[str] = []
    numbers: Counter[int] = Counter()
    for name in sorted(names):
        match = _NAME.match(name)
        if match is None:
            problems.append(f"{name}: not NNNN_snake_case_name.sql")
            continue
        number, words = int(match.group(1)), match.group(2).split("_")
        if number < FIRST_RULED:
            continue
        numbers[number] += 1
        motive = sorted(MOTIVE_WORDS.intersection(words))
        if motive:
            problems.append(f"{name}: names a motive ({', '.join(motive)}), not the change")
    problems += [f"{n:04d}: {count} migrations share the number" for n, count in
                 sorted(numbers.items()) if count > 1]  # fmt: skip
    return problems


def forward_migrations() -> list[str]:
    return [p.name for p in paths.migrations_dir().glob("*.sql")
            if not p.name.endswith(".rollback.sql")]  # fmt: skip


def test_migrations_have_one_number_each_and_name_the_change() -> None:
    assert naming_problems(forward_migrations()) == []


def test_the_rule_sees_a_shared_number_and_a_motive() -> None:
    """Shown able to fail, on names the tree must never get."""
    found = naming_problems(
        ["0006_perf_space.sql", "0006_perf_stripes.sql", "0007_tenant_grant.sql",
         "0014_account_index.sql", "0014_perf_account_index.sql", "0015_Fix.sql"]
    )  # fmt: skip
    assert found == [
        "0014_perf_account_index.sql: names a motive (perf), not the change",
        "0015_Fix.sql: not NNNN_snake_case_name.sql",
        "0014: 2 migrations share the number",
    ]
