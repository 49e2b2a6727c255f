"""Finding (or making) a PostgreSQL server for every pgbalance command and for the tests.

resolve_dsn() picks, in order:
  1. $DATABASE_URL, as given;
  2. the local server at 127.0.0.1:5432 (user postgres), unless $PGBALANCE_DB=embedded;
  3. a throwaway cluster under <repo>/.pgdata/ started on demand (EmbeddedCluster).
For 2 and 3 the returned DSN points at database `pgbalance`, created when missing.
resolve_server() is the same choice without that database (try-outs make their own next to
it); `pgbalance server start|stop|status` manages the cluster of 3.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import importlib.util
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgbalance import paths

APP_DATABASE = "pgbalance"
# Scratch databases of `pgbalance run` and `pgbalance stress`, recreated per run.
DEMO_DATABASE = "pgbalance_demo"
STRESS_DATABASE = "pgbalance_stress"
_DRIVER_SUFFIX = re.compile(r"^(postgres(?:ql)?)\+\w+://")
LOCAL_SERVER = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
DEFAULT_EMBEDDED_PORT = 54329
PG_OS_USER = "postgres"

ShutdownMode = Literal["smart", "fast", "immediate"]


class DatabaseSetupError(RuntimeError):
    """No usable PostgreSQL: the message says what to install or set."""


def resolve_dsn() -> str:
    """The DSN every command uses when --dsn is not given (see module docstring)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return normalize_dsn(url)
    return ensure_database(resolve_server(), APP_DATABASE)


def resolve_server() -> str:
    """A DSN on the server resolve_dsn() picks, without creating the application database:
    $DATABASE_URL as given, else database `postgres` of the local server or of the throwaway
    cluster (started when needed). Scratch databases (demo, stress) are made next to it."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return normalize_dsn(url)
    if os.environ.get("PGBALANCE_DB", "").lower() != "embedded" and server_answers(LOCAL_SERVER):
        return LOCAL_SERVER
    cluster = EmbeddedCluster()
    cluster.start()
    return cluster.dsn


def normalize_dsn(dsn: str) -> str:
    """libpq's form of a SQLAlchemy/yoyo URL: `postgresql+psycopg://...` -> `postgresql://...`."""
    return _DRIVER_SUFFIX.sub(r"\1://", dsn, count=1)


def describe(dsn: str) -> str:
    """`database NAME on HOST:PORT as USER`, plus the throwaway cluster's directory when it is
    the one: what every command prints about where it worked."""
    host, port, user, _ = parse_server(dsn)
    dbname = conninfo_params(dsn).get("dbname") or user
    where = f"database {dbname} on {host}:{port} as {user}"
    cluster = EmbeddedCluster()
    if host in ("127.0.0.1", "localhost") and cluster.last_port() == port:
        where += f" (throwaway cluster in {cluster.root})"
    return where


def fresh_database(dsn: str, name: str) -> str:
    """Drop database `name` on dsn's server and create it again, empty; return its DSN."""
    drop_database(dsn, name)
    return ensure_database(dsn, name)


def server_answers(dsn: str, timeout_s: int = 2) -> bool:
    """True when a server accepts a connection within timeout_s seconds."""
    try:
        with psycopg.connect(dsn, connect_timeout=timeout_s, autocommit=True):
            return True
    except psycopg.Error:
        return False


def with_dbname(dsn: str, dbname: str) -> str:
    """The same server and credentials, another database (keyword DSN)."""
    return make_conninfo(dsn, dbname=dbname)


def ensure_database(dsn: str, name: str) -> str:
    """Create database `name` on dsn's server if missing; return a DSN for it."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            # Two processes may race here (xdist workers, demo + CLI): losing is fine.
            lost_race = (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation)
            with contextlib.suppress(*lost_race):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_dbname(dsn, name)


def drop_database(dsn: str, name: str) -> None:
    """Drop database `name` on dsn's server, disconnecting whoever is still in it."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        query = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(query.format(sql.Identifier(name)))


# --------------------------------------------------------------------------- binaries


def find_bindir() -> Path:
    """Directory holding initdb and pg_ctl: $PGBALANCE_PG_BINDIR, `pg_config --bindir`, the
    highest /usr/lib/postgresql/<version>/bin, else the binaries of the `pgserver` wheel when
    it is installed (`pip install pgserver`: the no-apt fallback, docs/operations.md)."""
    candidates: list[Path] = []
    override = os.environ.get("PGBALANCE_PG_BINDIR")
    if override:
        candidates.append(Path(override))
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            candidates.append(Path(out.stdout.strip()))

    def version_of(path: str) -> tuple[int, ...]:
        part = Path(path).parent.name
        return tuple(int(x) for x in part.split(".") if x.isdigit())

    versioned = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version_of, reverse=True)
    candidates.extend(Path(p) for p in versioned)
    # Found without importing pgserver (its import starts nothing, but needs its own deps).
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).parent / "pginstall" / "bin")
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    raise DatabaseSetupError(
        "No PostgreSQL server binaries (initdb, pg_ctl) found and no server answers at "
        "127.0.0.1:5432. Install them with `apt-get install postgresql` "
        "(or `apt-get install postgresql-15`), or `pip install pgserver` (a PostgreSQL 16 "
        "build in a wheel; CPython 3.9-3.12 on x86_64), or set DATABASE_URL to a server you "
        "have."
    )


# --------------------------------------------------------------------------- cluster


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the server binds: TIME_WAIT leftovers of a crashed server do not count as taken.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port(preferred: int) -> int:
    if _port_is_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class EmbeddedCluster:
    """A throwaway PostgreSQL cluster owned by this checkout.

    Layout of `root` (default <repo>/.pgdata): data/ (PGDATA), run/ (unix socket),
    postgres.log, .lock (serialises concurrent start() calls: xdist workers, CLI + tests).
    As root, every server binary runs as the `postgres` OS user (the server refuses root).
    """

    def __init__(
        self, root: Path | None = None, port: int | None = None, bindir: Path | None = None
    ) -> None:
        self.root = (root or default_cluster_root()).resolve()
        self.datadir = self.root / "data"
        self.socketdir = self.root / "run"
        self.logfile = self.root / "postgres.log"
        self.portfile = self.root / "port"
        self.preferred_port = port
        self._bindir = bindir
        self.port: int | None = None

    # -- public API

    @property
    def dsn(self) -> str:
        """Keyword DSN of the maintenance database `postgres` (TCP on 127.0.0.1)."""
        port = self.port if self.port is not None else self.running_port()
        if port is None:
            raise DatabaseSetupError(f"embedded cluster at {self.root} is not running")
        return f"host=127.0.0.1 port={port} user=postgres dbname=postgres"

    def start(self) -> None:
        """Initialise when needed, start when not running, reuse when running."""
        with self._locked():
            if not (self.datadir / "PG_VERSION").is_file():
                self._initdb()
            running = self.running_port()
            if running is not None:
                self.port = running
                return
            # Same port as last time when possible: DSNs handed out survive a crash_restart().
            port = _free_port(self.preferred_port or self.last_port() or DEFAULT_EMBEDDED_PORT)
            options = (
                # pg_ctl hands -o to a shell: quote the one path in it.
                f"-p {port} -k {shlex.quote(str(self.socketdir))} -c listen_addresses=127.0.0.1 "
                "-c max_connections=200"
            )
            self._pg(
                "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.datadir),
                "-l", str(self.logfile), "-o", options,
            )  # fmt: skip
            self.port = port
            self.portfile.write_text(f"{port}\n")

    def stop(self, mode: ShutdownMode = "fast") -> None:
        """Stop the server; `immediate` is a crash (recovery runs at the next start)."""
        with self._locked():
            if self.is_running():
                self._pg("pg_ctl", "stop", "-w", "-t", "60", "-m", mode, "-D", str(self.datadir))

    def crash_restart(self) -> None:
        """Kill the server without a checkpoint, then start it again (crash recovery)."""
        self.stop("immediate")
        self.start()

    def is_running(self) -> bool:
        if not (self.datadir / "PG_VERSION").is_file():
            return False
        status = self._pg("pg_ctl", "status", "-D", str(self.datadir), check=False)
        return status.returncode == 0

    def server_command(self, *args: str) -> list[str]:
        """A command line that runs as the server's OS user (itself unless root)."""
        return [*self._as_server_user(), *args]

    # -- internals

    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            self._bindir = find_bindir()
        return self._bindir

    def running_port(self) -> int | None:
        """The port of the running server, None when it is not running."""
        if not self.is_running():
            return None
        # postmaster.pid line 4 is the port the running server listens on.
        try:
            lines = (self.datadir / "postmaster.pid").read_text().splitlines()
            return int(lines[3])
        except (OSError, IndexError, ValueError):
            return None

    def last_port(self) -> int | None:
        """The port it was last started on (kept in `root`/port)."""
        try:
            return int(self.portfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def _as_server_user(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        try:
            pwd.getpwnam(PG_OS_USER)
        except KeyError as exc:
            raise DatabaseSetupError(
                "Running as root, and PostgreSQL refuses to run as root, but there is no "
                f"`{PG_OS_USER}` OS user to run it as: `apt-get install postgresql` creates it."
            ) from exc
        return ["runuser", "-u", PG_OS_USER, "--"]

    def _pg(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [*self._as_server_user(), str(self.bindir / tool), *args]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if check and out.returncode != 0:
            log_tail = ""
            if self.logfile.is_file():
                log_tail = "\n".join(self.logfile.read_text(errors="replace").splitlines()[-15:])
            raise DatabaseSetupError(
                f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}{out.stderr}"
                + (f"\n--- {self.logfile} ---\n{log_tail}" if log_tail else "")
            )
        return out

    def _initdb(self) -> None:
        if self.datadir.exists():  # a half-made cluster from an interrupted initdb
            shutil.rmtree(self.datadir)
        self._pg(
            "initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socketdir.mkdir(exist_ok=True)
        self._hand_over(self.root, self.socketdir)
        with (self.root / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _hand_over(self, *dirs: Path) -> None:
        """As root, give the directories to the server's OS user and check it can reach them."""
        if os.geteuid() != 0:
            return
        self._as_server_user()  # fails clearly when the user does not exist
        entry = pwd.getpwnam(PG_OS_USER)
        for d in dirs:
            if d.stat().st_uid != entry.pw_uid:
                os.chown(d, entry.pw_uid, entry.pw_gid)
        probe = subprocess.run(
            ["runuser", "-u", PG_OS_USER, "--", "test", "-w", str(self.root)], check=False
        )
        if probe.returncode != 0:
            raise DatabaseSetupError(
                f"The `{PG_OS_USER}` OS user cannot reach {self.root} (a parent directory is "
                "not traversable). Set PGBALANCE_PGDATA to a directory it can reach."
            )


def default_cluster_root() -> Path:
    """$PGBALANCE_PGDATA, else <state dir>/.pgdata when the server user can reach it, else a
    fixed directory under the system temp dir (one per checkout)."""
    override = os.environ.get("PGBALANCE_PGDATA")
    if override:
        return Path(override).expanduser()
    root = paths.state_dir() / ".pgdata"
    if os.geteuid() != 0 or _traversable_by_others(root.parent):
        return root
    digest = hashlib.sha1(str(root).encode()).hexdigest()[:8]
    return Path(tempfile.gettempdir()) / f"pgbalance-pgdata-{digest}"


def _traversable_by_others(path: Path) -> bool:
    """True when every directory from / down to path is world-executable."""
    for p in [path, *path.parents]:
        try:
            if not p.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def conninfo_params(dsn: str) -> dict[str, str]:
    """A DSN or URL as libpq keywords (values as strings)."""
    return {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}


def parse_server(dsn: str) -> tuple[str, int, str, str | None]:
    """(host, port, user, password) of a DSN, with libpq's defaults filled in."""
    params = conninfo_params(dsn)
    host = params.get("host") or os.environ.get("PGHOST") or "127.0.0.1"
    port = int(params.get("port") or os.environ.get("PGPORT") or 5432)
    user = params.get("user") or os.environ.get("PGUSER") or "postgres"
    return host, port, user, params.get("password") or os.environ.get("PGPASSWORD")
