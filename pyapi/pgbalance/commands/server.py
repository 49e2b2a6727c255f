"""`pgbalance server start|stop|status`: the throwaway cluster (pgbalance.db.EmbeddedCluster).

Commands use it when no DATABASE_URL is set and no server answers at 127.0.0.1:5432; it keeps
running after them, so this is how to see it, stop it, and (with --delete) remove it.
"""

from __future__ import annotations

import argparse
import shutil

NAME = "server"
HELP = "start, stop or show the throwaway PostgreSQL cluster the commands fall back to"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("start", "stop", "status"), help="what to do")
    parser.add_argument(
        "--delete", action="store_true",
        help="with stop: also delete the cluster's directory (its data)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from pgbalance import db

    cluster = db.EmbeddedCluster()
    if args.action == "start":
        cluster.start()
        app = db.with_dbname(cluster.dsn, db.APP_DATABASE)
        print(f"throwaway cluster in {cluster.root} running on 127.0.0.1:{cluster.port}")
        print(f"  DATABASE_URL=postgresql://postgres@127.0.0.1:{cluster.port}/{db.APP_DATABASE}")
        print(f"  libpq: {app}")
        _which_one_commands_use()
        return 0
    if args.action == "stop":
        running = cluster.is_running()
        if running:
            cluster.stop()
        state = "stopped" if running else "was not running"
        print(f"throwaway cluster in {cluster.root}: {state}")
        if args.delete and cluster.root.exists():
            shutil.rmtree(cluster.root)
            print(f"deleted {cluster.root}")
        return 0
    port = cluster.running_port()
    if port is None:
        exists = "exists" if (cluster.datadir / "PG_VERSION").is_file() else "does not exist yet"
        print(f"throwaway cluster in {cluster.root}: not running ({exists})")
    else:
        print(f"throwaway cluster in {cluster.root}: running on 127.0.0.1:{port} "
              f"(log {cluster.logfile})")  # fmt: skip
    _which_one_commands_use()
    # pg_ctl's convention: 3 when the server is not running.
    return 0 if port is not None else 3


def _which_one_commands_use() -> None:
    import os

    from pgbalance import db

    if os.environ.get("DATABASE_URL"):
        print("commands use $DATABASE_URL (set), not this cluster")
    elif os.environ.get("PGBALANCE_DB", "").lower() != "embedded" and db.server_answers(
        db.LOCAL_SERVER
    ):
        print("commands use the local server at 127.0.0.1:5432 (it answers), not this cluster; "
              "PGBALANCE_DB=embedded makes them use this one")  # fmt: skip
    else:
        print("commands without --dsn use this cluster")
