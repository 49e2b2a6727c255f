"""`pgbalance stress`: prove the guarantees under load and faults (see docs/stress.md)."""

from __future__ import annotations

import argparse
import os

NAME = "stress"
HELP = (
    "concurrent random workload over hot keys, with faults (kill, crash, ambiguous, failover); an "
    "oracle checks exactly-once effects, conservation and ledger.verify; exit 1 on any anomaly"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pgbalance.commands.base import positive_int
    from pgbalance.harness.stress.workload import SCENARIO_NAMES

    parser.add_argument("--workers", type=positive_int, default=16,
                        help="concurrent connections")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of the load")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument(
        "--scenario",
        choices=SCENARIO_NAMES,
        default="mixed",
        help="workload (mixed: every scenario deployed)",
    )
    parser.add_argument(
        "--faults",
        default="",
        help="comma list of kill, crash, ambiguous, failover (all but kill only on the "
        "harness's own throwaway cluster; failover alone or with kill)",
    )
    parser.add_argument(
        "--naive",
        action="store_true",
        help="run the workload against the unprotected patterns instead "
        "(in a scratch schema); it must report anomalies",
    )
    parser.add_argument("--json", metavar="PATH", default=None, help="write the report as JSON")


def run(args: argparse.Namespace) -> int:
    import sys

    from rich.console import Console

    from pgbalance import db
    from pgbalance.harness.stress.faults import SERVER_WIDE, parse_faults
    from pgbalance.harness.stress.runner import StressConfig, StressError, refusal, run_stress

    console = Console()
    try:
        faults = parse_faults(args.faults)
    except ValueError as exc:
        print(f"pgbalance stress: {exc}", file=sys.stderr)
        return 2
    given: str | None = getattr(args, "dsn", None) or os.environ.get("DATABASE_URL")
    cluster: db.EmbeddedCluster | None = None
    if faults & SERVER_WIDE:
        if given:
            host, port, _, _ = db.parse_server(given)
            print(f"pgbalance stress: {refusal(faults, f'{host}:{port}')}", file=sys.stderr)
            return 2
        # The harness's own throwaway cluster: never the shared server at 127.0.0.1:5432.
        cluster = db.EmbeddedCluster()
        cluster.start()
        dsn = db.fresh_database(cluster.dsn, db.STRESS_DATABASE)
    elif args.dsn:
        dsn = db.normalize_dsn(args.dsn)
    else:
        # Its own database, recreated per run: never the application's unless --dsn says so.
        dsn = db.fresh_database(db.resolve_server(), db.STRESS_DATABASE)
    print(f"pgbalance stress: {db.describe(dsn)}", file=sys.stderr)
    config = StressConfig(
        dsn=dsn,
        workers=args.workers,
        seconds=args.seconds,
        seed=args.seed,
        scenario=args.scenario,
        faults=faults,
        naive=args.naive,
        cluster=cluster,
        progress=True,
    )
    try:
        report = run_stress(config, console)
    except StressError as exc:
        print(f"pgbalance stress: {exc}", file=sys.stderr)
        return 2
    report.render(console)
    if args.json:
        report.write_json(args.json)
        console.print(f"report written to {args.json}")
    return report.exit_code
