"""Generated documentation: docs/schema.sql, docs/api.md and the examples' expected output.

Everything here is read from a *fresh install* (a scratch database migrated from this tree),
never from a live database, so the files depend only on migrations/ and sql/:

- docs/schema.sql: `pg_dump --schema-only --no-owner` of the pgbalance schemas, normalized
  (no version banner, no SET lines, no per-run `\\restrict` key) so it is byte-stable;
- docs/api.md: every public function (no leading underscore) of the pgbalance schemas with
  its signature, result columns, grants and COMMENT, plus the SQLSTATE table (read from
  pgbalance.errors);
- examples/NAME.out: what `psql -a -f examples/NAME.sql` prints against a fresh install.

`pgbalance docs` (or `make docs`) rewrites them; `pgbalance docs --check` and the tests in
tests/dba fail when a checked-in copy differs from what the tree generates.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgbalance import db as pgdb
from pgbalance import errors, paths
from pgbalance.migrate import KERNEL_SCHEMAS, migrate


class DocgenError(RuntimeError):
    """A generator could not run (missing pg_dump/psql, a failing example, ...)."""


# --------------------------------------------------------------------------- tools


def _server_major(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.info.server_version // 10000


def pg_tool(name: str, dsn: str) -> str:
    """Path of a PostgreSQL client program (pg_dump, psql) suited to dsn's server.

    The one of the server's major version when installed (its output is what the checked-in
    files were made with), else the one on PATH, else the newest installed one.
    """
    major = _server_major(dsn)
    candidates = [Path(f"/usr/lib/postgresql/{major}/bin/{name}")]
    override = os.environ.get("PGBALANCE_PG_BINDIR")
    if override:
        candidates.insert(0, Path(override) / name)
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    try:
        newest = pgdb.find_bindir() / name
    except pgdb.DatabaseSetupError:
        newest = None
    if newest is not None and newest.is_file():
        return str(newest)
    raise DocgenError(
        f"`{name}` not found: install the PostgreSQL client (`apt-get install "
        f"postgresql-client-{major}`) or set PGBALANCE_PG_BINDIR"
    )


def client_env(dsn: str) -> dict[str, str]:
    """Environment for a client program: C messages, UTC, UTF8, and dsn's password (kept
    out of the command line, where `ps` would show it)."""
    env = dict(os.environ)
    env.update(LC_ALL="C", LANG="C", LC_MESSAGES="C", PGTZ="UTC", PGDATESTYLE="ISO, YMD",
               PGCLIENTENCODING="UTF8")  # fmt: skip
    password = conninfo_to_dict(dsn).get("password")
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return env


def client_conninfo(dsn: str) -> str:
    """dsn as a keyword conninfo without its password, for a client's --dbname."""
    params = {k: v for k, v in conninfo_to_dict(dsn).items() if k != "password"}
    return make_conninfo("", **params)


def installed_schemas(conn: psycopg.Connection[Any]) -> list[str]:
    """The pgbalance schemas present in the database, in KERNEL_SCHEMAS order."""
    rows = conn.execute(
        "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY(%s)",
        (list(KERNEL_SCHEMAS),),
    ).fetchall()
    present = {r[0] for r in rows}
    return [s for s in KERNEL_SCHEMAS if s in present]


# --------------------------------------------------------------------------- schema.sql

_DROP_LINE = re.compile(
    r"^(\\restrict |\\unrestrict |-- Dumped from database version|-- Dumped by pg_dump version"
    r"|SET |SELECT pg_catalog\.set_config\('search_path')"
)


def normalize_dump(text: str) -> str:
    """A pg_dump script without what varies between runs and versions.

    Drops the version banner, the per-run `\\restrict` key and every top-level SET /
    set_config line; collapses runs of blank lines; ends with exactly one newline.
    """
    out: list[str] = []
    for line in text.splitlines():
        if _DROP_LINE.match(line):
            continue
        if not line.strip() and (not out or not out[-1].strip()):
            continue
        out.append(line.rstrip())
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out) + "\n"


def dump_schema(dsn: str, schemas: Sequence[str] | None = None, *,
                extra_args: Sequence[str] = ()) -> str:  # fmt: skip
    """Raw `pg_dump --schema-only --no-owner` of the given (default: installed) schemas."""
    if schemas is None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            schemas = installed_schemas(conn)
    args = [pg_tool("pg_dump", dsn), f"--dbname={client_conninfo(dsn)}", "--schema-only",
            "--no-owner"]
    args += [f"--schema={s}" for s in schemas]
    args += list(extra_args)
    out = subprocess.run(args, env=client_env(dsn), capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise DocgenError(f"pg_dump failed ({out.returncode}): {out.stderr.strip()}")
    return out.stdout


SCHEMA_HEADER = """\
-- pgbalance schema snapshot: pg_dump --schema-only --no-owner of {schemas}
-- on a fresh install (`pgbalance migrate` on an empty database), normalized.
-- Generated by `make docs` (pgbalance docs); do not edit. tests/dba/test_docs.py fails
-- when it is out of date, so every schema change shows up here in review.
"""


def schema_sql(dsn: str) -> str:
    """docs/schema.sql for the database at dsn (meant to be a fresh install)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        schemas = installed_schemas(conn)
    header = SCHEMA_HEADER.format(schemas=", ".join(schemas) or "(none)")
    return header + "\n" + normalize_dump(dump_schema(dsn, schemas))


# --------------------------------------------------------------------------- api.md


@dataclass(frozen=True)
class ApiFunction:
    schema: str
    name: str
    arguments: str
    result: str
    columns: tuple[tuple[str, str], ...]
    comment: str | None
    security_definer: bool
    config: tuple[str, ...]
    volatility: str
    executors: tuple[str, ...]


_FUNCTIONS = """
SELECT n.nspname, p.proname,
       pg_catalog.pg_get_function_arguments(p.oid),
       pg_catalog.pg_get_function_result(p.oid),
       -- The result's columns: its OUT ('t') parameters, or the attributes of the composite
       -- type it returns (RETURNS SETOF ledger.movement_result).
       coalesce((SELECT array_agg(a.name || ' ' || pg_catalog.format_type(a.type, NULL)
                                  ORDER BY a.ord)
                   FROM unnest(p.proargnames, p.proallargtypes, p.proargmodes)
                        WITH ORDINALITY AS a(name, type, mode, ord)
                  WHERE a.mode = 't'),
                (SELECT array_agg(a.attname || ' ' || pg_catalog.format_type(a.atttypid, NULL)
                                  ORDER BY a.attnum)
                   FROM pg_catalog.pg_type AS t
                   JOIN pg_catalog.pg_class AS c ON c.oid = t.typrelid AND c.relkind = 'c'
                   JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid
                  WHERE t.oid = p.prorettype AND a.attnum > 0 AND NOT a.attisdropped),
                '{}'),
       pg_catalog.obj_description(p.oid, 'pg_proc'),
       p.prosecdef,
       coalesce(p.proconfig, '{}'),
       CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END,
       coalesce((SELECT array_agg(DISTINCT r.rolname ORDER BY r.rolname)
                   FROM aclexplode(p.proacl) AS acl
                   JOIN pg_catalog.pg_roles AS r ON r.oid = acl.grantee
                  WHERE acl.privilege_type = 'EXECUTE' AND acl.grantee <> p.proowner), '{}')
  FROM pg_catalog.pg_proc AS p
  JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
 WHERE n.nspname = ANY(%(schemas)s) AND p.proname !~ '^_' AND p.prokind IN ('f', 'p')
 ORDER BY array_position(%(schemas)s, n.nspname::text), p.proname,
          pg_catalog.pg_get_function_identity_arguments(p.oid)
"""

_TABLES = """
SELECT n.nspname, c.relname, pg_catalog.obj_description(c.oid, 'pg_class')
  FROM pg_catalog.pg_class AS c
  JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
 WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v', 'm')
 ORDER BY array_position(%(schemas)s, n.nspname::text), c.relname
"""

# The row shapes functions return, each declared once (migrations/0017_result_types.sql).
_RESULT_TYPES = """
SELECT n.nspname, t.typname, pg_catalog.obj_description(t.oid, 'pg_type'),
       (SELECT string_agg(a.attname || ' ' || pg_catalog.format_type(a.atttypid, NULL), ', '
                          ORDER BY a.attnum)
          FROM pg_catalog.pg_attribute AS a
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
  FROM pg_catalog.pg_type AS t
  JOIN pg_catalog.pg_class AS c ON c.oid = t.typrelid AND c.relkind = 'c'
  JOIN pg_catalog.pg_namespace AS n ON n.oid = t.typnamespace
 WHERE n.nspname = ANY(%(schemas)s)
 ORDER BY array_position(%(schemas)s, n.nspname::text), t.typname
"""

# Literal SQLSTATEs raised by function bodies: ledger._raise('PB001', ...) or ERRCODE = '...'.
_RAISED = """
SELECT DISTINCT n.nspname || '.' || p.proname, m[1]
  FROM pg_catalog.pg_proc AS p
  JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace,
       regexp_matches(p.prosrc, '(?:_raise\\s*\\(\\s*|ERRCODE\\s*=\\s*)''([0-9A-Z]{5})''', 'g')
       AS m
 WHERE n.nspname = ANY(%(schemas)s)
 ORDER BY 2, 1
"""


def api_functions(conn: psycopg.Connection[Any],
                  schemas: Sequence[str] | None = None) -> list[ApiFunction]:  # fmt: skip
    """Every public function (name without a leading underscore) of the pgbalance schemas."""
    schema_list = list(schemas) if schemas is not None else installed_schemas(conn)
    rows = conn.execute(_FUNCTIONS, {"schemas": schema_list}).fetchall()
    result: list[ApiFunction] = []
    for schema, name, args, res, cols, comment, secdef, config, volatility, execs in rows:
        columns = tuple((c.split(" ", 1)[0], c.split(" ", 1)[1]) for c in cols)
        result.append(ApiFunction(schema, name, args, res, columns, comment, secdef,
                                  tuple(config), volatility, tuple(execs)))  # fmt: skip
    return result


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _wrap_signature(fn: ApiFunction) -> str:
    """`schema.name(` + one parameter per line + `) RETURNS ...`, as a SQL block."""
    params = _split_arguments(fn.arguments)
    head = f"{fn.schema}.{fn.name}("
    if not params:
        body = head + ")"
    else:
        body = head + "\n" + ",\n".join(f"    {p}" for p in params) + "\n)"
    result = fn.result
    if result.startswith("TABLE(") and fn.columns:
        cols = ",\n".join(f"    {n} {t}" for n, t in fn.columns)
        result = "TABLE (\n" + cols + "\n)"
    elif fn.columns:
        # A declared result type (Result types below): its columns, so each function's
        # entry still shows the rows it returns.
        cols = ",\n".join(f"--     {n} {t}" for n, t in fn.columns)
        result = f"{result}\n-- columns:\n{cols}"
    return f"{body}\nRETURNS {result}"


def _split_arguments(arguments: str) -> list[str]:
    """Split pg_get_function_arguments() at top-level commas (defaults may hold commas)."""
    parts: list[str] = []
    depth = 0
    quoted = False
    current: list[str] = []
    for ch in arguments:
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch in "([":
            depth += 1
        elif not quoted and ch in ")]":
            depth -= 1
        if ch == "," and depth == 0 and not quoted:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


API_HEADER = """\
# pgbalance SQL API reference

<!-- Generated by `make docs` (pgbalance docs) from the catalog of a fresh install: every
     public function's signature, result columns, grants and COMMENT ON. Do not edit: change
     the COMMENT ON in sql/ and run `make docs`. tests/dba/test_docs.py fails when this file
     is out of date. -->

Call every function as `SELECT * FROM schema.fn(...)`. Every function takes the tenant
first, is `SECURITY DEFINER` with a pinned `search_path`, and is executable by the roles
listed under it; `pgbalance_app` has no privilege on any table. Money is `bigint` in minor
units. The binding contract (idempotency, check order, replays) is [contract.md](contract.md);
the errors every function raises are listed in [Errors](#errors).

Rules that hold for every function below: a function that writes raises 25000 inside a
REPEATABLE READ or SERIALIZABLE transaction (reads work at any level; the no-deadlock promise
covers one call per transaction, so move several amounts with one `post_entry` or
`transfer_batch`); a session user granted tenants with `ledger.grant_tenant` gets 42501 for
any other tenant; free-form JSON arguments are at most 16 KiB and reasons and approvers at
most 1,000 characters (22023); `capture`, `void` and `reverse` of a workflow's entry (key
`pgb:...`) raise PB004.
"""


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "", text.lower().replace(" ", "-"))


def api_markdown(conn: psycopg.Connection[Any]) -> str:
    """docs/api.md for the database conn is connected to (meant to be a fresh install)."""
    schemas = installed_schemas(conn)
    functions = api_functions(conn, schemas)
    tables = conn.execute(_TABLES, {"schemas": schemas}).fetchall()
    types = conn.execute(_RESULT_TYPES, {"schemas": schemas}).fetchall()
    raised = conn.execute(_RAISED, {"schemas": schemas}).fetchall()
    known = set(errors.BY_SQLSTATE)
    unknown = sorted({code for _, code in raised} - known)
    if unknown:
        where = ", ".join(f"{fn} raises {code}" for fn, code in raised if code in unknown)
        raise DocgenError(
            f"SQLSTATE(s) {', '.join(unknown)} are raised ({where}) but not in the error table "
            "of pgbalance.errors (and docs/contract.md): declare a class there"
        )
    schema_comments = dict(
        conn.execute(
            "SELECT nspname, obj_description(oid, 'pg_namespace') FROM pg_catalog.pg_namespace "
            "WHERE nspname = ANY(%s)",
            (schemas,),
        ).fetchall()
    )

    lines = [API_HEADER]
    lines.append("## Contents\n")
    for schema in schemas:
        names = [f for f in functions if f.schema == schema]
        links = ", ".join(f"[`{f.name}`](#{_anchor(f'{f.schema}.{f.name}')})" for f in names)
        lines.append(f"- [`{schema}`](#schema-{schema}): {links or '(no public function)'}")
    lines.append("- [Errors](#errors)\n")

    for schema in schemas:
        lines.append(f'<a id="schema-{schema}"></a>\n')
        lines.append(f"## Schema `{schema}`\n")
        comment = schema_comments.get(schema)
        if comment:
            lines.append(comment.strip() + "\n")
        schema_tables = [(name, c) for s, name, c in tables if s == schema]
        if schema_tables:
            lines.append("| table | what it holds |")
            lines.append("|-------|---------------|")
            for name, c in schema_tables:
                lines.append(f"| `{schema}.{name}` | {_md_cell(c or '')} |")
            lines.append("")
        schema_types = [(name, c, cols) for s, name, c, cols in types if s == schema]
        if schema_types:
            lines.append("| result type | columns | what a row is |")
            lines.append("|-------------|---------|---------------|")
            for name, c, cols in schema_types:
                row = f"| `{schema}.{name}` | {_md_cell(cols or '')} | {_md_cell(c or '')} |"
                lines.append(row)
            lines.append("")
        for fn in (f for f in functions if f.schema == schema):
            lines.append(f'<a id="{_anchor(f"{fn.schema}.{fn.name}")}"></a>\n')
            lines.append(f"### `{fn.schema}.{fn.name}`\n")
            lines.append("```sql\n" + _wrap_signature(fn) + "\n```\n")
            lines.append((fn.comment or "*(no COMMENT ON FUNCTION)*").strip() + "\n")
            security = "SECURITY DEFINER" if fn.security_definer else "SECURITY INVOKER"
            attrs = [fn.volatility, security]
            attrs += list(fn.config)
            executors = ", ".join(f"`{r}`" for r in fn.executors) or "owner only"
            lines.append(f"*{'; '.join(attrs)}.* Executable by: {executors}.\n")
    lines.append('<a id="errors"></a>\n')
    lines.append("## Errors\n")
    lines.append("Every error carries a human message and a `DETAIL` with the numbers involved; "
                 "callers match on the SQLSTATE.\n")  # fmt: skip
    lines.append("| SQLSTATE | name | when |")
    lines.append("|----------|------|------|")
    for cls in errors.BY_SQLSTATE.values():
        lines.append(f"| `{cls.sqlstate}` | {cls.name} | {_md_cell(cls.meaning)} |")
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------- examples


def examples_dir() -> Path:
    root = paths.checkout_root()
    if root is None:
        raise DocgenError("examples/ lives in the repository: run from a checkout")
    return root / "examples"


def example_files(directory: Path | None = None) -> list[Path]:
    """examples/*.sql, sorted by name."""
    d = directory or examples_dir()
    return sorted(d.glob("*.sql")) if d.is_dir() else []


def run_example(dsn: str, path: Path) -> str:
    """What psql prints running the example (input echoed, errors inline), as text.

    psql runs with ON_ERROR_STOP: an example that shows an error turns it off around the
    statement itself. The file is named relative to its directory's parent
    (`examples/NAME.sql`) so psql's error prefixes do not depend on the checkout path.
    """
    args = [pg_tool("psql", dsn), f"--dbname={client_conninfo(dsn)}", "-X", "-a", "-q",
            "-v", "ON_ERROR_STOP=1", "-P", "pager=off", "-f", f"{path.parent.name}/{path.name}"]
    out = subprocess.run(
        args, cwd=path.parent.parent, env=client_env(dsn), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, check=False, timeout=120,
    )  # fmt: skip
    if out.returncode != 0:
        raise DocgenError(f"{path.parent.name}/{path.name} failed (psql exit "
                          f"{out.returncode}):\n{out.stdout[-3000:]}")  # fmt: skip
    return out.stdout


def expected_path(example: Path) -> Path:
    return example.with_suffix(".out")


# --------------------------------------------------------------------------- scratch databases


def _maintenance_dsn(dsn: str) -> str:
    return pgdb.with_dbname(dsn, "postgres")


@contextmanager
def scratch_database(dsn: str, *, template: str | None = None,
                     prefix: str = "pgbalance_docs") -> Iterator[str]:  # fmt: skip
    """A new database on dsn's server (a copy of `template` if given), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = _maintenance_dsn(dsn)
    with psycopg.connect(admin, autocommit=True) as conn:
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(statement)
    try:
        yield pgdb.with_dbname(dsn, name)
    finally:
        pgdb.drop_database(admin, name)


@contextmanager
def fresh_install(dsn: str) -> Iterator[str]:
    """A scratch database on dsn's server with this tree migrated into it."""
    with scratch_database(dsn) as scratch:
        migrate(scratch)
        yield scratch


# --------------------------------------------------------------------------- all files


def generate(dsn: str, root: Path | None = None) -> dict[Path, str]:
    """Every generated file (path -> content) from a fresh install on dsn's server."""
    base = root or paths.checkout_root()
    if base is None:
        raise DocgenError("docs/ and examples/ live in the repository: run from a checkout")
    files: dict[Path, str] = {}
    with fresh_install(dsn) as fresh:
        files[base / "docs" / "schema.sql"] = schema_sql(fresh)
        with psycopg.connect(fresh, autocommit=True) as conn:
            files[base / "docs" / "api.md"] = api_markdown(conn)
        template = conninfo_to_dict(fresh)["dbname"]
        assert isinstance(template, str)
        for example in example_files(base / "examples"):
            with scratch_database(dsn, template=template) as copy:
                files[expected_path(example)] = run_example(copy, example)
    return files


def stale_files(files: dict[Path, str]) -> list[Path]:
    """The generated files whose checked-in copy is missing or differs."""
    return [
        path for path, text in files.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]  # fmt: skip


def write_files(files: dict[Path, str]) -> list[Path]:
    """Write the files that changed; return them."""
    changed = stale_files(files)
    for path in changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path], encoding="utf-8")
    return changed
