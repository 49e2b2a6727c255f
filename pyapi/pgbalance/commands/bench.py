"""`pgbalance bench`: the kernel against pgbench's TPC-B in a scratch database
(pgbalance.harness.bench measures; docs/performance.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "bench"
HELP = "benchmark transfers against pgbench's TPC-B in a scratch database (ratios, latency, space)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pgbalance.harness import bench_history, bench_instructions
    from pgbalance.harness.bench import SPACE_TRANSFERS

    parser.add_argument("--clients", type=int, default=8, help="pgbench clients (default 8)")
    parser.add_argument("--seconds", type=float, default=10, help="seconds per run (default 10)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    parser.add_argument("--space-transfers", type=int, default=SPACE_TRANSFERS,
                        help="transfers for the space measure (default 100000; 0 skips it)")
    parser.add_argument("--high-clients", type=int, default=32,
                        help="clients of the uniform_hi and hot_hi runs (default 32)")
    parser.add_argument("--peer", default=None, metavar="NAME=DIR",
                        help="also measure a peer ledger installed from DIR (pgledger=DIR);"
                             " skipped when DIR is absent")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="write the results as JSON")  # fmt: skip
    parser.add_argument("--plot", type=Path, default=None, metavar="PATH.png",
                        help="write a bar chart (needs matplotlib: pgbalance[plot])")  # fmt: skip
    parser.add_argument("--history", action="store_true",
                        help="instead: cost of reads and checks as history grows (bench_history)")
    bench_history.add_arguments(parser)
    bench_instructions.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from pgbalance.commands.base import dsn_of
    from pgbalance.harness import bench_history, bench_instructions
    from pgbalance.harness.bench import BenchError, Peer, plot, render, run_bench

    if args.history:
        return bench_history.run(args, dsn_of(args))
    if args.instructions:
        return bench_instructions.run(args)

    if args.clients < 1 or args.rounds < 1 or args.seconds <= 0 or args.space_transfers < 0:
        print("pgbalance bench: --clients and --rounds must be >= 1, --seconds > 0",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.high_clients < 1:
        print("pgbalance bench: --high-clients must be >= 1", file=sys.stderr)
        return 2
    peer = None
    if args.peer is not None:
        name, _, directory = args.peer.partition("=")
        if name != "pgledger" or not directory:
            print("pgbalance bench: --peer takes pgledger=DIR", file=sys.stderr)
            return 2
        if Path(directory).is_dir():
            peer = Peer(name, Path(directory))
        else:
            print(f"... peer {name}: {directory} is absent, skipped", file=sys.stderr)
    try:
        result = run_bench(dsn_of(args), clients=args.clients, seconds=args.seconds,
                           rounds=args.rounds, space_transfers=args.space_transfers,
                           high_clients=args.high_clients, peer=peer,
                           progress=lambda msg: print(f"... {msg}", file=sys.stderr))  # fmt: skip
        render(result)
        if args.json is not None:
            args.json.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
        if args.plot is not None:
            plot(result, args.plot)
    except BenchError as exc:
        print(f"pgbalance bench: {exc}", file=sys.stderr)
        return 2
    return 0 if result.verify_violations == 0 else 1
