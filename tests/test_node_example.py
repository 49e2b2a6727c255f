"""examples/node/: the SQL contract from a second language (node-postgres), run against a fresh
migrated database as pgbalance_app. Skipped only when `node` (or `npm`) is not on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "node"

# What demo.js prints for the calls whose outcome the contract fixes.
EXPECTED = (
    "connected as pgbalance_app",
    "ok   retry invoice-17: same entry",
    "ok   invoice-17 with another amount: PB003 idempotency_conflict",
    "ok   overdraw alice: PB001 insufficient_funds (available=7500 requested=50000)",
    "ok   transfer of 0: 22023 invalid_parameter_value",
    "ok   balances: alice 7500, bob 2500",
    "ok   purchase order-2 of 5000: PB001 insufficient_funds",
    "ok   wallet carol: balance 1200",
    "all calls behaved as the contract says",
)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"`{name}` is not on PATH: the Node.js example needs Node.js 18+ and npm")
    return path


def _env(dsn: str) -> dict[str, str]:
    """libpq's PG* variables for dsn (node-postgres reads them), connecting as pgbalance_app."""
    params = conninfo_to_dict(dsn)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    names = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
             "dbname": "PGDATABASE"}  # fmt: skip
    env.update({var: str(params[key]) for key, var in names.items() if params.get(key)})
    env.pop("DATABASE_URL", None)
    env["PGOPTIONS"] = "-c role=pgbalance_app"  # the application role: functions, no tables
    return env


def test_node_example_runs_against_the_contract(dsn: str) -> None:
    node, npm = _tool("node"), _tool("npm")
    install = subprocess.run(
        [npm, "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=EXAMPLE, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert install.returncode == 0, f"npm ci failed:\n{install.stdout}\n{install.stderr}"
    run = subprocess.run(
        [node, "demo.js"], cwd=EXAMPLE, env=_env(dsn), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"node demo.js exited {run.returncode}:\n{output}"
    for line in EXPECTED:
        assert line in output, f"{line!r} missing from the demo's output:\n{output}"
    assert "FAIL" not in output
