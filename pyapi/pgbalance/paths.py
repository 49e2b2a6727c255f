"""Where the SQL that pgbalance deploys lives.

Order: $PGBALANCE_HOME (a directory holding sql/, migrations/ and releases/), then the copy
shipped inside the wheel (pgbalance/_sql, _migrations, _releases), then the repo checkout this
module sits in (editable installs and plain `python -m pgbalance` from the repo).
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
# pyapi/pgbalance/paths.py -> parents[2] is the repository root.
_CHECKOUT = Path(__file__).resolve().parents[2]


def checkout_root() -> Path | None:
    """The repository this package runs from, if it runs from one."""
    if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "pyapi").is_dir():
        return _CHECKOUT
    return None


def _home() -> Path | None:
    home = os.environ.get("PGBALANCE_HOME")
    return Path(home).expanduser().resolve() if home else None


def _asset_dir(repo_name: str, packaged_name: str) -> Path:
    home = _home()
    if home is not None:
        return home / repo_name
    packaged = _PACKAGE / packaged_name
    if packaged.is_dir():
        return packaged
    return _CHECKOUT / repo_name


def sql_dir() -> Path:
    """Directory of the re-applied objects (CREATE OR REPLACE + COMMENT ON, one per file)."""
    return _asset_dir("sql", "_sql")


def migrations_dir() -> Path:
    """Directory of the yoyo migrations (NNNN_name.sql + NNNN_name.rollback.sql)."""
    return _asset_dir("migrations", "_migrations")


def releases_dir() -> Path:
    """Directory of earlier releases' sql/ snapshots (<version>.sql), for `migrate --to`."""
    return _asset_dir("releases", "_releases")


def state_dir() -> Path:
    """Where local state (the throwaway cluster) goes: $PGBALANCE_HOME, the checkout, or
    ~/.local/share/pgbalance for an installed wheel."""
    home = _home() or checkout_root()
    if home is not None:
        return home
    return Path.home() / ".local" / "share" / "pgbalance"
