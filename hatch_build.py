"""Hatch build hook: ship the repo's sql/, migrations/ and releases/ inside the wheel.

A plain `force-include` fails when a directory does not exist yet and would also copy
stale SQL into site-packages on editable installs, so the copy is done here, for real
wheels only. pgbalance/paths.py looks for pgbalance/_sql, _migrations and _releases first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

ASSETS = {"sql": "pgbalance/_sql", "migrations": "pgbalance/_migrations",
          "releases": "pgbalance/_releases"}


class SqlAssetsHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        for source, target in ASSETS.items():
            path = Path(self.root) / source
            if path.is_dir():
                build_data["force_include"][str(path)] = target
