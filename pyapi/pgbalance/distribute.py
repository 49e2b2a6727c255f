"""Distributing pgbalance by tenant on Citus (docs/scaling.md), run by `pgbalance migrate`.

On a database with the citus extension, migrate() applies the same migrations and sql/ files
as on plain PostgreSQL, from the coordinator, then calls distribute(): every table of the
kernel schemas is distributed by tenant_id in one colocation group (parents before children),
and every public function is delegated by its first argument, p_tenant, to the worker that
holds the tenant. Each step skips what is already done, so re-running migrate is a no-op and
an upgrade distributes only what it added. Without the extension both hooks return at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import sqlparse
from psycopg import sql

from pgbalance.db import DatabaseSetupError

# The colocation group's anchor: every other table and every delegated function joins it.
ANCHOR = "ledger.account"

_HAS_CITUS = "SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus')"

# Local tables of the kernel schemas, each with the kernel tables it references that are
# still local (a table distributes once those have: foreign keys must join colocated tables)
# and whether it has pages on disk (rows to copy into the shards).
_LOCAL_TABLES = """
SELECT c.oid::regclass::text, pg_relation_size(c.oid) > 0,
       coalesce(array_agg(DISTINCT f.confrelid::regclass::text)
                FILTER (WHERE f.confrelid <> c.oid
                          AND f.confrelid NOT IN (SELECT logicalrelid FROM pg_dist_partition)),
                '{}')
  FROM pg_class AS c
  JOIN pg_namespace AS n ON n.oid = c.relnamespace
  LEFT JOIN pg_constraint AS f ON f.conrelid = c.oid AND f.contype = 'f'
 WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p')
   AND c.oid NOT IN (SELECT logicalrelid FROM pg_dist_partition)
   AND c.oid::regclass::text <> ALL(%(reference)s)
 GROUP BY c.oid
 ORDER BY c.oid::regclass::text
"""

# Replicated to every node, not distributed: ledger._check_access reads tenant_grant by role
# (not by tenant) on every call, which on a distributed table would query every shard;
# release_history (ledger.version) is the same for every tenant and has no tenant_id.
REFERENCE_TABLES = ("ledger.tenant_grant", "ledger.release_history", "ledger.cursor_key")

# Functions whose p_tenant may be NULL (every tenant) stay on the coordinator, where their
# per-tenant queries are routed to the tenant's worker: a NULL has no shard, and Citus 13.2.2
# crashes the coordinator (SIGSEGV hashing the NULL) when a delegated function gets one.
SPANNING = (
    "ledger.verify", "ledger.verify_full", "ledger.seal", "ledger.expire_holds", "ledger.version"
)

# Public functions (no leading underscore; all take p_tenant first, tests/dba checks it) not
# yet delegated by an argument.
_UNDELEGATED = """
SELECT p.oid::regprocedure::text
  FROM pg_proc AS p
  JOIN pg_namespace AS n ON n.oid = p.pronamespace
 WHERE n.nspname = ANY(%(schemas)s) AND p.prokind = 'f' AND p.proname !~ '^_'
   AND n.nspname || '.' || p.proname <> ALL(%(spanning)s)
   AND NOT EXISTS (SELECT FROM pg_dist_object AS d
                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                      AND d.distribution_argument_index IS NOT NULL)
 ORDER BY 1
"""


def has_citus(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(_HAS_CITUS).fetchone()
    return bool(row and row[0])


def command_splitter(conn: psycopg.Connection[Any]) -> Callable[[str], list[str]]:
    """How migrate sends an sql/ file: whole on plain PostgreSQL; one statement per command
    on Citus, which refuses a multi-statement string when it propagates DDL to the workers
    (`42601 cannot insert multiple commands into a prepared statement`)."""
    if not has_citus(conn):
        return lambda text: [text]
    return lambda text: [s for s in sqlparse.split(text) if s.strip()]


def distribute(dsn: str, schemas: Sequence[str], reapply_sql: Callable[[], object]) -> None:
    """Distribute the tables of `schemas` and delegate their public functions (Citus only).

    `reapply_sql` re-applies sql/: functions created while a table they depend on was still
    local were created on the coordinator only ("... will be created only locally"); created
    again once the tables are distributed, they reach every worker.
    """
    with psycopg.connect(dsn, autocommit=True) as conn:
        if not has_citus(conn):
            return
        workers = conn.execute(
            "SELECT count(*) FROM pg_dist_node"
            " WHERE isactive AND noderole = 'primary' AND shouldhaveshards"
        ).fetchone()
        if not workers or not workers[0]:
            raise DatabaseSetupError(
                "the database has the citus extension but no node to hold shards: add the "
                "workers on the coordinator first (SELECT citus_add_node(host, port))"
            )
        # The ledger's triggers (posting trigger, guards) live on distributed tables; Citus
        # creates them on every shard only when told so. For the database, so that the next
        # migrate's sessions (yoyo's, sql/) re-create triggers too.
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET citus.enable_unsafe_triggers = on").format(
                sql.Identifier(conn.info.dbname)
            )
        )
        conn.execute("SET citus.enable_unsafe_triggers = on")
        # Citus opens node-to-node connections as the current user, which inside a SECURITY
        # DEFINER function is its owner: a call run on the coordinator (verify, expire_holds,
        # version, any call inside an explicit transaction block) or one that writes a
        # reference table from a worker connects as pgbalance_owner. So it must be able to
        # log in; pg_hba.conf restricts it to the cluster's nodes (docs/scaling.md).
        # Shard splits and moves create the new shards as the table's owner: it needs CREATE
        # in the schemas (on the coordinator the DDL guard still refuses its DDL).
        owner = conn.execute(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'pgbalance_owner'"
        ).fetchone()
        if owner is not None:
            if not owner[0]:
                conn.execute("ALTER ROLE pgbalance_owner LOGIN")
            for (schema,) in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", (list(schemas),)
            ).fetchall():
                conn.execute(
                    sql.SQL("GRANT CREATE ON SCHEMA {} TO pgbalance_owner").format(
                        sql.Identifier(schema)
                    )
                )
        if _distribute_tables(conn, schemas):
            reapply_sql()
        params = {"schemas": list(schemas), "spanning": list(SPANNING)}
        for (function,) in conn.execute(_UNDELEGATED, params).fetchall():
            conn.execute(
                "SELECT create_distributed_function(%s::regprocedure, '$1', colocate_with := %s)",
                (function, ANCHOR),
            )


def _distribute_tables(conn: psycopg.Connection[Any], schemas: Sequence[str]) -> bool:
    """Replicate the reference tables, then distribute every other local table of `schemas`,
    referenced tables first; True if any was.

    Rows already there are copied into the shards with the ledger's triggers off (the guards
    would refuse an account inserted with its balance), then dropped from the coordinator.
    """
    distributed: list[str] = []
    filled: set[str] = set()
    for table in REFERENCE_TABLES:
        known = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL,"
            " EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = to_regclass(%s))",
            (table, table),
        ).fetchone()
        if known and known[0] and not known[1]:
            with _triggers_off(conn):
                conn.execute("SELECT create_reference_table(%s)", (table,))
            distributed.append(table)
            filled.add(table)
    params = {"schemas": list(schemas), "reference": list(REFERENCE_TABLES)}
    while True:
        rows = conn.execute(_LOCAL_TABLES, params).fetchall()
        local = [str(table) for table, _, _ in rows]
        filled |= {str(table) for table, pages, _ in rows if pages}
        # The anchor first: every other table names it as colocate_with.
        ready = [ANCHOR] if ANCHOR in local else [str(t) for t, _, parents in rows if not parents]
        if not ready:
            if rows:
                raise DatabaseSetupError(f"foreign keys in a cycle: {local}")
            break
        for table in ready:
            colocate = "none" if table == ANCHOR else ANCHOR
            with _triggers_off(conn):
                conn.execute(
                    "SELECT create_distributed_table(%s, 'tenant_id', colocate_with := %s)",
                    (table, colocate),
                )
            distributed.append(table)
    for table in reversed([t for t in distributed if t in filled]):  # children first (FKs)
        with _triggers_off(conn):
            conn.execute("SELECT truncate_local_data_after_distributing_table(%s)", (table,))
    return bool(distributed)


@contextmanager
def _triggers_off(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """A transaction in which no ordinary trigger fires, on the coordinator or the workers
    (SET LOCAL reaches the workers with propagate_set_commands = 'local')."""
    with conn.transaction():
        conn.execute("SET LOCAL citus.propagate_set_commands = 'local'")
        conn.execute("SET LOCAL session_replication_role = replica")
        yield
