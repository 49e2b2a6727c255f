"""Deploying the kernel: yoyo migrations (tables, types, roles: things that need history),
then every sql/**/*.sql file re-applied (functions, triggers, comments: CREATE OR REPLACE).

The sql/ set runs in one transaction, so a broken file leaves the previous objects intact.
A catalog fingerprint taken before and after tells whether the re-application changed anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgbalance import distribute, paths

KERNEL_SCHEMAS = ("ledger", "wallet", "booking", "fees", "tuition")
# Serialises concurrent sql/ re-applications on one database (yoyo locks only migrations).
_SQL_LOCK_KEY = "pgbalance.migrate.sql"


class MigrationError(RuntimeError):
    """A migration or sql/ file failed; the message names it and carries the server's words."""


@dataclass(frozen=True)
class MigrateReport:
    applied: list[str] = field(default_factory=list)
    sql_files: list[str] = field(default_factory=list)
    catalog_before: str = ""
    catalog_after: str = ""

    @property
    def catalog_changed(self) -> bool:
        return self.catalog_before != self.catalog_after

    def __str__(self) -> str:
        migrations = f"{len(self.applied)} migrations applied"
        if self.applied:
            migrations += f" ({', '.join(self.applied)})"
        else:
            migrations += " (schema up to date)"
        catalog = "changed" if self.catalog_changed else "unchanged"
        return f"{migrations}; sql/: {len(self.sql_files)} files re-applied, catalog {catalog}"


# --------------------------------------------------------------------------- yoyo plumbing


def yoyo_url(dsn: str) -> str:
    """A libpq DSN or URL as the URL yoyo 9 wants for psycopg 3 (`postgresql+psycopg://`).

    Everything but the database name travels as query arguments, which yoyo hands to
    psycopg.connect() verbatim: that keeps unix-socket hosts, odd passwords and extra
    libpq options intact without URL-netloc escaping rules.
    """
    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    # yoyo does not unquote the URL path, so the real dbname travels as an argument too
    # (arguments override the path); the path only keeps the URL readable in yoyo's logs.
    path = quote(params.get("dbname", ""), safe="")
    query = urlencode(sorted(params.items()))
    return f"postgresql+psycopg:///{path}" + (f"?{query}" if query else "")


@contextmanager
def _backend(dsn: str) -> Iterator[Any]:
    from yoyo import get_backend

    backend = get_backend(yoyo_url(dsn))
    try:
        yield backend
    finally:
        # yoyo never closes its connection; a lingering one blocks CREATE DATABASE ... TEMPLATE.
        backend.connection.close()


def _read_migrations() -> Any:
    from yoyo import read_migrations
    from yoyo.migrations import MigrationList

    directory = paths.migrations_dir()
    if not directory.is_dir():
        return MigrationList()
    return read_migrations(str(directory))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        d = exc.diag
        parts = [f"{d.sqlstate}: {d.message_primary}"]
        parts += [f"{label}: {text}" for label, text in
                  (("DETAIL", d.message_detail), ("HINT", d.message_hint),
                   ("CONTEXT", d.context)) if text]  # fmt: skip
        return "\n  ".join(parts)
    return f"{type(exc).__name__}: {exc}"


def pending_migrations(dsn: str) -> list[str]:
    """Ids of the migrations not yet applied (a dry run of migrate())."""
    with _backend(dsn) as backend:
        return [m.id for m in backend.to_apply(_read_migrations())]


def apply_migrations(dsn: str, only: frozenset[str] | None = None) -> list[str]:
    """Apply pending yoyo migrations (those in `only`, when given: an earlier release's) under
    yoyo's lock; return their ids in order."""
    applied: list[str] = []
    migrations = _read_migrations()
    with _backend(dsn) as backend, backend.lock():
        # One by one (not backend.apply_migrations) so a failure names its file and a
        # BadMigration is raised instead of skipped, as yoyo's bulk path would do.
        for migration in backend.to_apply(migrations):
            if only is not None and migration.id not in only:
                continue
            try:
                backend.apply_one(migration)
            except Exception as exc:
                raise MigrationError(
                    f"migration {migration.id} failed ({Path(migration.path).name}):\n  "
                    + _describe(exc)
                ) from exc
            applied.append(migration.id)
        if applied:
            backend.run_post_apply(migrations)
    return applied


def rollback_all(dsn: str) -> list[str]:
    """Roll back every applied migration, newest first; return their ids."""
    return rollback_migrations(dsn)


def rollback_migrations(dsn: str, keep: frozenset[str] = frozenset()) -> list[str]:
    """Roll back every applied migration not in `keep`, newest first; return their ids."""
    migrations = _read_migrations()
    rolled_back: list[str] = []
    # pgbalance.rollback lets 0010_release_history's rollback through (it refuses plain
    # partial rollbacks); a connection option, since yoyo runs each migration on a new one.
    options = f"{conninfo_to_dict(dsn).get('options') or ''} -c pgbalance.rollback=on"
    with _backend(make_conninfo(dsn, options=options.strip())) as backend, backend.lock():
        for migration in backend.to_rollback(migrations):
            if migration.id in keep:
                continue
            try:
                backend.rollback_one(migration)
            except Exception as exc:
                raise MigrationError(
                    f"rollback of {migration.id} failed:\n  " + _describe(exc)
                ) from exc
            rolled_back.append(migration.id)
    return rolled_back


# --------------------------------------------------------------------------- sql/ objects


def sql_files(root: Path | None = None) -> list[Path]:
    """sql/**/*.sql (or root/**/*.sql) in sorted relative-path order."""
    root = root or paths.sql_dir()
    if not root.is_dir():
        return []
    return sorted(root.rglob("*.sql"), key=lambda p: p.relative_to(root).as_posix())


_FINGERPRINT = """
WITH objects(def) AS (
    SELECT pg_get_functiondef(p.oid)
           || coalesce(obj_description(p.oid, 'pg_proc'), '')
           || coalesce(array_to_string(p.proconfig, ','), '')
           || coalesce(p.proacl::text, '')
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = ANY(%(schemas)s) AND p.prokind IN ('f', 'p', 'w')
  UNION ALL
    SELECT pg_get_triggerdef(t.oid) || coalesce(obj_description(t.oid, 'pg_trigger'), '')
    FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY(%(schemas)s) AND NOT t.tgisinternal
  UNION ALL
    SELECT c.oid::regclass::text || ':' || coalesce(pg_get_viewdef(c.oid), '')
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('v', 'm')
  UNION ALL
    -- comments on schemas, tables, columns and types, named (OIDs change across rebuilds)
    SELECT 'schema ' || n.nspname || ':' || coalesce(obj_description(n.oid, 'pg_namespace'), '')
    FROM pg_namespace n WHERE n.nspname = ANY(%(schemas)s)
  UNION ALL
    SELECT 'relation ' || c.oid::regclass::text || ':' || d.objsubid::text || ':' || d.description
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass
    WHERE n.nspname = ANY(%(schemas)s)
  UNION ALL
    SELECT 'type ' || t.oid::regtype::text || ':' || d.description
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    JOIN pg_description d ON d.objoid = t.oid AND d.classoid = 'pg_type'::regclass
    WHERE n.nspname = ANY(%(schemas)s)
)
SELECT md5(coalesce(string_agg(def, E'\\n' ORDER BY def), '')) FROM objects
"""


def catalog_fingerprint(conn: psycopg.Connection[Any]) -> str:
    """md5 over the definitions, grants and comments of everything in the kernel schemas."""
    row = conn.execute(_FINGERPRINT, {"schemas": list(KERNEL_SCHEMAS)}).fetchone()
    return str(row[0]) if row else ""


def apply_sql_objects(dsn: str) -> tuple[list[str], str, str]:
    """Re-apply every sql/ file and record the release in one transaction; (files,
    fingerprint before, after)."""
    from pgbalance import release

    files = sql_files()
    root = paths.sql_dir()
    names = [f.relative_to(root).as_posix() for f in files]
    with psycopg.connect(dsn, autocommit=True) as conn:
        before = catalog_fingerprint(conn)
        commands = distribute.command_splitter(conn)
        if files:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_SQL_LOCK_KEY,))
                for path, name in zip(files, names, strict=True):
                    try:
                        # No parameters: psycopg sends the text as a simple query, so one
                        # file may hold several statements.
                        for command in commands(path.read_text(encoding="utf-8")):
                            conn.execute(command.encode())
                    except psycopg.Error as exc:
                        raise MigrationError(
                            f"sql/{name} failed; no sql/ file was applied:\n  " + _describe(exc)
                        ) from exc
                release.record(conn)
        after = catalog_fingerprint(conn)
    return names, before, after


def migrate(dsn: str) -> MigrateReport:
    """Check the database (release.check_install), apply pending migrations, then re-apply
    sql/ and record the release. Idempotent."""
    from pgbalance import release

    release.check_install(dsn)
    applied = apply_migrations(dsn)
    files, before, after = apply_sql_objects(dsn)
    distribute.distribute(dsn, KERNEL_SCHEMAS, lambda: apply_sql_objects(dsn))  # Citus only
    return MigrateReport(applied=applied, sql_files=files, catalog_before=before,
                         catalog_after=after)  # fmt: skip
