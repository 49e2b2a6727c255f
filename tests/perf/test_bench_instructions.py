"""`pgbalance bench --instructions` as CI runs it: the fewest calls that still difference out
the base run, in its own throwaway cluster. Instruction counts do not depend on load, but no
figure is asserted beyond what makes the method sound (every count positive, a batch cheaper
per transfer than a transfer alone); the figures are in docs/performance.md."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import tempfile
from pathlib import Path

import psycopg
import pytest

from pgbalance import cli, db
from pgbalance.harness import bench_instructions
from pgbalance.harness.bench_instructions import BASE_CALLS, KINDS


@pytest.mark.slow
def test_instructions_per_call_of_every_kind(tmp_path: Path) -> None:
    if shutil.which("valgrind") is None:
        pytest.fail("`pgbalance bench --instructions` needs valgrind: apt-get install valgrind")
    out = tmp_path / "instructions.json"
    keep = tmp_path / "callgrind"
    argv = ["bench", "--instructions", "--calls", str(BASE_CALLS + 2), "--keep", str(keep),
            "--json", str(out)]  # fmt: skip
    assert cli.main(argv) == 0

    counts = {c["kind"]: c for c in json.loads(out.read_text(encoding="utf-8"))}
    assert list(counts) == list(KINDS)
    for count in counts.values():
        assert count["per_call"] > 0 and count["per_transfer"] > 0, count
    assert counts["batch"]["per_transfer"] < counts["uniform"]["per_transfer"]
    assert len(list(keep.glob("callgrind.*.out"))) == 2 * len(KINDS)


def test_too_few_calls_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bench", "--instructions", "--calls", str(BASE_CALLS)]) == 2
    assert "--calls must be more than" in capsys.readouterr().err


@pytest.mark.embedded
def test_the_copy_survives_a_port_taken_while_the_cluster_is_stopped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Each count stops the cluster for single-user mode; another server (a test's throwaway
    cluster, say) may take its port meanwhile, and it then comes back on another one. The copy
    is still dropped, on the server that holds it."""
    root = Path(tempfile.mkdtemp(prefix="pgbalance-cluster-"))
    root.chmod(0o755)
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.bind(("127.0.0.1", 0))  # a port of its own, not the default other tests share
    port = squatter.getsockname()[1]
    squatter.close()
    cluster = db.EmbeddedCluster(root=root, port=port)
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        cluster.start()
        db.ensure_database(cluster.dsn, "template_copy")
        first_port = cluster.port
        assert first_port is not None

        def callgrind_while_the_port_is_taken(*_args: object) -> int:
            # Listening, as a server would (SO_REUSEADDR as the server binds: the stopped one's
            # TIME_WAIT does not block it); another server there already is as good.
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            with contextlib.suppress(OSError):
                squatter.bind(("127.0.0.1", first_port))
                squatter.listen()
            return 42

        # A DSN that reaches the squatter instead of the cluster fails in seconds, not never.
        monkeypatch.setenv("PGCONNECT_TIMEOUT", "5")

        monkeypatch.setattr(bench_instructions, "_callgrind", callgrind_while_the_port_is_taken)
        count = bench_instructions._count_on_copy(
            cluster, "template_copy", "run_copy", tmp_path / "calls.sql", tmp_path / "out")
        assert count == 42
        assert cluster.port != first_port
        with psycopg.connect(cluster.dsn) as conn:
            left = conn.execute("SELECT datname FROM pg_database WHERE datname = 'run_copy'")
            assert left.fetchall() == []
    finally:
        squatter.close()
        cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
