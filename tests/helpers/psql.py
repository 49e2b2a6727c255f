"""Installing pgbalance the way a shop without Python does: the SQL bundle through psql."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from pgbalance import bundle, docgen


def run_psql_file(dsn: str, path: Path) -> subprocess.CompletedProcess[str]:
    """`psql -X -v ON_ERROR_STOP=1 -f path` against dsn (psql of the server's version)."""
    args = [docgen.pg_tool("psql", dsn), "-X", f"--dbname={docgen.client_conninfo(dsn)}",
            "-v", "ON_ERROR_STOP=1", "-f", str(path)]  # fmt: skip
    return subprocess.run(args, env=docgen.client_env(dsn), capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip


def install_bundle(dsn: str) -> subprocess.CompletedProcess[str]:
    """Write this release's bundle to a file and run it with psql; the finished process."""
    with tempfile.TemporaryDirectory(prefix="pgbalance-bundle-") as tmp:
        path = Path(tmp) / "pgbalance.sql"
        path.write_text(bundle.render(), encoding="utf-8")
        return run_psql_file(dsn, path)
