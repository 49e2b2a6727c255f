"""Releases: what each one installs, the checks every install runs first, and going back.

A release is its migrations (yoyo, versioned DDL) plus its sql/ objects (functions, triggers,
grants: re-applied whole). The current release is this package: its version and everything in
migrations/ and sql/. An earlier release is listed in EARLIER_RELEASES with the migrations it
applied and a snapshot of its sql/ (releases/<version>.sql, made from its git commit), since
its functions cannot come from this package's sql/: `pgbalance migrate --to VERSION` rolls back
the newer migrations and installs that snapshot in place of today's functions.

`install_checks_sql` is the one statement both `pgbalance migrate` and the SQL bundle run
before applying anything: it names a kernel schema pgbalance did not create, and migrations
this package does not know (a newer release is installed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pgbalance import __version__, paths
from pgbalance.migrate import (
    KERNEL_SCHEMAS,
    MigrationError,
    _describe,
    _read_migrations,
    apply_migrations,
    migrate,
    rollback_migrations,
)

# Migration ids pgbalance names (NNNN_name); other ids in _yoyo_migration are someone else's.
_OWN_ID = r"^[0-9]{4}_"
_CREATE_SCHEMA = re.compile(r"\bCREATE\s+SCHEMA\s+(?:IF\s+NOT\s+EXISTS\s+)?\"?(\w+)", re.I)


@dataclass(frozen=True)
class Release:
    version: str
    commit: str  # the git commit it was cut from (its sql/ snapshot is made from it)
    migrations: tuple[str, ...]  # every migration it applies, in apply order

    @property
    def sql_snapshot(self) -> Path:
        return paths.releases_dir() / f"{self.version}.sql"


EARLIER_RELEASES: tuple[Release, ...] = (
    Release(
        "0.1.0", "1d4ceba",
        ("0001_ledger", "0002_wallet", "0003_booking", "0004_fees", "0005_tuition",
         "0006_perf_space", "0006_perf_space_layout", "0006_perf_stripes"),
    ),
)  # fmt: skip


def known_versions() -> list[str]:
    return [r.version for r in EARLIER_RELEASES] + [__version__]


# --------------------------------------------------------------------------- install checks


def migration_ids() -> list[str]:
    """This package's migrations in the order yoyo applies them to an empty database."""
    from yoyo.topologicalsort import topological_sort

    migrations = _read_migrations()
    deps = {m: m.depends for m in migrations}
    return [m.id for m in topological_sort(migrations, deps)]


def schema_creators() -> dict[str, str]:
    """Kernel schema -> the migration that creates it (read from the migration files)."""
    creators: dict[str, str] = {}
    for migration in _read_migrations():
        text = Path(migration.path).read_text(encoding="utf-8")
        for name in _CREATE_SCHEMA.findall(text):
            if name in KERNEL_SCHEMAS:
                creators.setdefault(name, migration.id)
    return creators


def install_checks_sql() -> str:
    """install_checks.sql for this release: a DO block that raises before anything is applied
    when a kernel schema exists that no applied pgbalance migration created (42P06), or when
    pgbalance migrations this release does not know are applied (55000)."""
    known = "ARRAY[" + ", ".join(f"'{m}'" for m in migration_ids()) + "]::text[]"
    # No migrations (an empty migrations/): one row that matches no schema keeps VALUES valid.
    creators = ", ".join(f"('{s}', '{m}')" for s, m in sorted(schema_creators().items()))
    creators = creators or "(NULL::text, NULL::text)"
    template = (Path(__file__).resolve().parent / "install_checks.sql").read_text("utf-8")
    return (template.replace("@KNOWN@", known).replace("@CREATORS@", creators)
            .replace("@VERSION@", __version__))  # fmt: skip


def check_install(dsn: str) -> None:
    """Run install_checks_sql; MigrationError (nothing applied) when it refuses."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            conn.execute(install_checks_sql().encode())
        except psycopg.Error as exc:
            raise MigrationError("nothing applied:\n  " + _describe(exc)) from exc


def record(conn: psycopg.Connection[Any]) -> bool:
    """Record this release in ledger.release_history (inside the caller's sql/ transaction).
    False when already recorded, or when the sql/ in use predates ledger._record_release."""
    row = conn.execute(
        "SELECT to_regprocedure('ledger._record_release(text, text)') IS NOT NULL"
    ).fetchone()
    if not (row and row[0]):
        return False
    ids = migration_ids()
    added = conn.execute(
        "SELECT ledger._record_release(%s, %s)", (__version__, ids[-1] if ids else "")
    ).fetchone()
    return bool(added and added[0])


def installed(dsn: str) -> tuple[str | None, list[str]]:
    """(release recorded by ledger.version(), or None; applied pgbalance migration ids)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        applied: list[str] = []
        if conn.execute("SELECT to_regclass('_yoyo_migration')").fetchone() != (None,):
            applied = [r[0] for r in conn.execute(
                "SELECT migration_id FROM _yoyo_migration ORDER BY applied_at_utc, migration_id"
            ) if re.match(_OWN_ID, r[0])]  # fmt: skip
        version: str | None = None
        if conn.execute("SELECT to_regprocedure('ledger.version(text)')").fetchone() != (None,):
            row = conn.execute("SELECT release FROM ledger.version()").fetchone()
            version = row[0] if row else None
    return version, applied


# --------------------------------------------------------------------------- going back


def migrate_to(dsn: str, version: str) -> str:
    """Install release `version`: this one (= migrate), or an earlier one (roll back the newer
    migrations, then replace every kernel function by that release's sql/ snapshot)."""
    if version == __version__:
        return str(migrate(dsn))
    target = next((r for r in EARLIER_RELEASES if r.version == version), None)
    if target is None:
        raise MigrationError(
            f"unknown release {version}: this pgbalance ({__version__}) can install "
            + ", ".join(known_versions())
            + ". To install a newer release, install that pgbalance (pip install "
            f"pgbalance=={version}) and run its `pgbalance migrate`."
        )
    check_install(dsn)
    keep = frozenset(target.migrations)
    _check_going_back(dsn, target)
    rolled_back = rollback_migrations(dsn, keep=keep)
    applied = apply_migrations(dsn, only=keep)
    _install_snapshot(dsn, target)
    parts = [f"release {version} installed"]
    if rolled_back:
        parts.append(f"{len(rolled_back)} migrations rolled back ({', '.join(rolled_back)})")
    if applied:
        parts.append(f"{len(applied)} migrations applied ({', '.join(applied)})")
    parts.append(f"functions replaced by release {version}'s sql/")
    return "; ".join(parts)


# Objects other than triggers, event triggers and functions that use a kernel function would
# be dropped with it; the switch refuses instead of losing them. (The event triggers are
# pgbalance's own DDL guard, sql/10_ledger/015_guard_ddl.sql: they go with ledger._guard_ddl.)
_FOREIGN_DEPENDENTS = """
SELECT pg_describe_object(d.classid, d.objid, d.objsubid), p.oid::regprocedure::text
  FROM pg_depend AS d
  JOIN pg_proc AS p ON d.refclassid = 'pg_proc'::regclass AND d.refobjid = p.oid
 WHERE p.pronamespace::regnamespace::text = ANY(%(schemas)s)
   AND d.classid NOT IN ('pg_trigger'::regclass, 'pg_event_trigger'::regclass,
                         'pg_proc'::regclass)
   AND d.deptype = 'n'
 ORDER BY 1
"""
_KERNEL_FUNCTIONS = """
SELECT p.oid::regprocedure::text FROM pg_proc AS p
 WHERE p.pronamespace::regnamespace::text = ANY(%(schemas)s) AND p.prokind IN ('f', 'p', 'w')
 ORDER BY 1
"""

# The objects go back to the migrating role before the snapshot runs: a release whose sql/
# hands them to pgbalance_owner (sql/90_security/owner.sql) does so again, an older one
# expects them to be the installer's, with no privilege left to a role it never made.
_DISOWN = """
DO $$
DECLARE
    v_sql text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgbalance_owner') THEN
        RETURN;
    END IF;
    FOR v_sql IN
        SELECT format('ALTER TABLE %s OWNER TO %I', c.oid::regclass, current_user)
          FROM pg_catalog.pg_class AS c
         WHERE c.relnamespace::regnamespace::text
               IN ('ledger', 'wallet', 'booking', 'fees', 'tuition')
           AND c.relkind IN ('r', 'p') AND c.relowner = 'pgbalance_owner'::regrole
        UNION ALL
        SELECT format('REVOKE ALL ON SCHEMA %I FROM pgbalance_owner', n.nspname)
          FROM pg_catalog.pg_namespace AS n
         WHERE n.nspname IN ('ledger', 'wallet', 'booking', 'fees', 'tuition')
    LOOP
        EXECUTE v_sql;
    END LOOP;
END
$$
"""



def _refuse_foreign_dependents(conn: psycopg.Connection[Any]) -> None:
    foreign = conn.execute(_FOREIGN_DEPENDENTS, {"schemas": list(KERNEL_SCHEMAS)}).fetchall()
    if foreign:
        listed = "\n  ".join(f"{what} uses {fn}" for what, fn in foreign)
        raise MigrationError(
            "nothing changed: cannot replace the kernel functions, other objects use them "
            f"(drop those first, and re-create them afterwards):\n  {listed}"
        )


def _check_going_back(dsn: str, target: Release) -> None:
    """Every reason going back to `target` would stop half-way, checked before anything
    changes: a refusal leaves this release's migrations and functions as they were."""
    if not target.sql_snapshot.is_file():
        raise MigrationError(
            f"nothing changed: release {target.version}'s functions ({target.sql_snapshot}) "
            "are not installed with this copy of pgbalance (set PGBALANCE_HOME to a tree "
            "with releases/, or reinstall the package)"
        )
    with psycopg.connect(dsn, autocommit=True) as conn:
        _refuse_foreign_dependents(conn)
        # 0007_tenant_grant's rollback refuses while any grant exists (dropping them would
        # make every tenant-bound role reach every tenant again).
        if "0007_tenant_grant" in target.migrations or conn.execute(
            "SELECT to_regclass('ledger.tenant_grant')"
        ).fetchone() == (None,):
            return
        grants = conn.execute("SELECT count(*) FROM ledger.tenant_grant").fetchone()
        if grants and grants[0]:
            raise MigrationError(
                f"nothing changed: ledger.tenant_grant holds {grants[0]} tenant grants, and "
                f"release {target.version} has none: its roles would reach every tenant. "
                "Revoking keeps the rows (the role stays bound), so the owner or a superuser "
                "must remove the rows of ledger.tenant_grant (after making sure no "
                "tenant-bound login can connect), then run this again."
            )


def _install_snapshot(dsn: str, target: Release) -> None:
    """In one transaction: drop every kernel function (and the triggers on them), then run
    the release's sql/ snapshot, which creates its own again."""
    from pgbalance.migrate import _SQL_LOCK_KEY

    text = target.sql_snapshot.read_text(encoding="utf-8")
    schemas = {"schemas": list(KERNEL_SCHEMAS)}
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_SQL_LOCK_KEY,))
        # Checked first in _check_going_back; again under the lock, since the DROP below
        # would take along anything made in between.
        _refuse_foreign_dependents(conn)
        functions = [r[0] for r in conn.execute(_KERNEL_FUNCTIONS, schemas)]
        if functions:
            drop = sql.SQL("DROP FUNCTION {} CASCADE").format(
                sql.SQL(", ").join(sql.SQL(f) for f in functions)
            )
            conn.execute(drop)
        conn.execute(_DISOWN)
        try:
            conn.execute(text.encode())
        except psycopg.Error as exc:
            raise MigrationError(
                f"release {target.version}'s sql/ failed; the functions were left as they were "
                "(run `pgbalance migrate` to return to this release):\n  "
                + _describe(exc)
            ) from exc
        if conn.execute(
            "SELECT to_regprocedure('ledger._record_release(text, text)') IS NOT NULL"
        ).fetchone() == (True,):
            conn.execute("SELECT ledger._record_release(%s, %s)",
                         (target.version, target.migrations[-1]))  # fmt: skip


def snapshot_text(target: Release, sql_root: Path) -> str:
    """The releases/<version>.sql file of an earlier release, from its sql/ directory."""
    return (
        f"-- pgbalance {target.version}: its sql/ objects (git commit {target.commit}), which "
        f"`pgbalance migrate --to {target.version}`\n-- installs after rolling back the newer "
        "migrations. Generated; do not edit (tests/test_release.py).\n"
        + sql_dir_text(sql_root)
    )


def sql_dir_text(root: Path | None = None) -> str:
    """Every sql/ file (of root, default this package's) in apply order as one script: the
    bundle's objects part, and what an earlier release's snapshot holds."""
    from pgbalance.migrate import sql_files

    base = root or paths.sql_dir()
    parts = []
    for path in sql_files(base):
        parts.append(f"-- sql/{path.relative_to(base).as_posix()}\n")
        body = path.read_text(encoding="utf-8")
        parts.append(body if body.endswith("\n") else body + "\n")
    return "".join(parts)
