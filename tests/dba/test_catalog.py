"""The catalog rules that let pgbalance be distributed by tenant (docs/scaling.md) and keep
the SQL API uniform (docs/contract.md):

- every table of the pgbalance schemas has tenant_id, and tenant_id leads every primary key,
  unique constraint, unique index and foreign key (both sides), so each key and each
  reference stays inside one tenant, that is, inside one Citus shard group;
- every public function (no leading underscore) takes `p_tenant text` first, is SECURITY
  DEFINER with a pinned search_path, has a COMMENT, and has no overload.
"""

from __future__ import annotations

from typing import Any

import psycopg

from pgbalance.migrate import KERNEL_SCHEMAS

# Tables that would be Citus reference tables (replicated, no tenant_id). Adding one here
# needs a line in docs/scaling.md. ledger.release_history: the installed release, one for all.
# ledger.cursor_key: the one key that signs statement_page cursors (the owner's only).
REFERENCE_TABLES: frozenset[str] = frozenset({"ledger.release_history", "ledger.cursor_key"})
PINNED_SEARCH_PATH = "search_path=pg_catalog, pg_temp"

_TABLE_VIOLATIONS = """
WITH tables AS (
    SELECT c.oid, c.oid::regclass::text AS name
      FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
     WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p')
       AND NOT c.relispartition AND c.oid::regclass::text <> ALL(%(reference)s)
), keys AS (
    SELECT t.name, con.conname, con.contype,
           (SELECT attname FROM pg_attribute WHERE attrelid = con.conrelid
               AND attnum = con.conkey[1]) AS first_col,
           (SELECT attname FROM pg_attribute WHERE attrelid = con.confrelid
               AND attnum = con.confkey[1]) AS first_ref_col
      FROM tables AS t JOIN pg_constraint AS con ON con.conrelid = t.oid
     WHERE con.contype IN ('p', 'u', 'f', 'x')
), unique_indexes AS (
    SELECT t.name, i.indexrelid::regclass::text AS index_name,
           (SELECT attname FROM pg_attribute WHERE attrelid = i.indrelid
               AND attnum = i.indkey[0]) AS first_col
      FROM tables AS t JOIN pg_index AS i ON i.indrelid = t.oid
     WHERE i.indisunique
       AND NOT EXISTS (SELECT FROM pg_constraint AS con WHERE con.conindid = i.indexrelid)
)
SELECT name, 'no tenant_id column'
  FROM tables AS t
 WHERE NOT EXISTS (SELECT FROM pg_attribute AS a WHERE a.attrelid = t.oid
                      AND a.attname = 'tenant_id' AND NOT a.attisdropped)
UNION ALL
SELECT name, 'no primary key' FROM tables AS t
 WHERE NOT EXISTS (SELECT FROM pg_constraint AS con WHERE con.conrelid = t.oid
                      AND con.contype = 'p')
UNION ALL
SELECT name, format('constraint %%s (%%s) starts with %%s, not tenant_id', conname, contype,
                    coalesce(first_col, 'an expression'))
  FROM keys WHERE first_col IS DISTINCT FROM 'tenant_id'
UNION ALL
SELECT name, format('foreign key %%s references %%s first, not tenant_id', conname,
                    coalesce(first_ref_col, '?'))
  FROM keys WHERE contype = 'f' AND first_ref_col IS DISTINCT FROM 'tenant_id'
UNION ALL
SELECT name, format('unique index %%s starts with %%s, not tenant_id', index_name,
                    coalesce(first_col, 'an expression'))
  FROM unique_indexes WHERE first_col IS DISTINCT FROM 'tenant_id'
ORDER BY 1, 2
"""

_FUNCTION_VIOLATIONS = """
WITH fns AS (
    SELECT p.oid, p.oid::regprocedure::text AS name, n.nspname, p.proname, p.prosecdef,
           p.proconfig, p.proargnames, p.proargtypes, p.pronargs,
           obj_description(p.oid, 'pg_proc') AS comment
      FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
     WHERE n.nspname = ANY(%(schemas)s) AND p.proname !~ '^_'
)
SELECT name, 'first parameter is not p_tenant text'
  FROM fns
 WHERE pronargs = 0 OR proargnames[1] IS DISTINCT FROM 'p_tenant'
    OR proargtypes[0] <> 'text'::regtype
UNION ALL
SELECT name, 'not SECURITY DEFINER' FROM fns WHERE NOT prosecdef
UNION ALL
SELECT name, 'search_path not pinned to pg_catalog, pg_temp'
  FROM fns WHERE NOT coalesce(%(pinned)s = ANY(proconfig), false)
UNION ALL
SELECT name, 'no COMMENT ON FUNCTION' FROM fns WHERE coalesce(btrim(comment), '') = ''
UNION ALL
SELECT min(name), format('%%s overloads of %%s.%%s', count(*), nspname, proname)
  FROM fns GROUP BY nspname, proname HAVING count(*) > 1
ORDER BY 1, 2
"""


def table_violations(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    params = {"schemas": list(KERNEL_SCHEMAS), "reference": sorted(REFERENCE_TABLES)}
    return [(r[0], r[1]) for r in conn.execute(_TABLE_VIOLATIONS, params).fetchall()]


def function_violations(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    params = {"schemas": list(KERNEL_SCHEMAS), "pinned": PINNED_SEARCH_PATH}
    return [(r[0], r[1]) for r in conn.execute(_FUNCTION_VIOLATIONS, params).fetchall()]


def test_tenant_id_leads_every_key_of_every_table(db: psycopg.Connection[Any]) -> None:
    tables: Any = db.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p')", (list(KERNEL_SCHEMAS),)
    ).fetchone()  # fmt: skip
    assert tables[0] >= 3
    assert table_violations(db) == []


def test_every_public_function_takes_the_tenant_first(db: psycopg.Connection[Any]) -> None:
    functions: Any = db.execute(
        "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = ANY(%s) AND p.proname !~ '^_'", (list(KERNEL_SCHEMAS),)
    ).fetchone()  # fmt: skip
    assert functions[0] >= 10
    assert function_violations(db) == []


def test_the_rules_catch_violations(db: psycopg.Connection[Any]) -> None:
    db.execute("CREATE TABLE ledger.pgb_no_tenant (id bigint PRIMARY KEY)")
    db.execute("CREATE TABLE ledger.pgb_bad_keys (tenant_id text, code text, ref bigint,"
               " CONSTRAINT pgb_bad_pkey PRIMARY KEY (code, tenant_id),"
               " CONSTRAINT pgb_bad_fkey FOREIGN KEY (ref, tenant_id)"
               "   REFERENCES ledger.account (account_id, tenant_id))")  # fmt: skip
    db.execute("CREATE UNIQUE INDEX pgb_bad_uidx ON ledger.pgb_bad_keys (ref)")
    db.execute("CREATE TABLE ledger.pgb_no_pkey (tenant_id text)")
    found = table_violations(db)
    assert ("ledger.pgb_no_tenant", "no tenant_id column") in found
    assert ("ledger.pgb_no_pkey", "no primary key") in found
    bad = [problem for table, problem in found if table == "ledger.pgb_bad_keys"]
    assert any("pgb_bad_pkey" in p for p in bad)
    assert any("pgb_bad_fkey (f) starts with ref" in p for p in bad)
    assert any("pgb_bad_fkey references account_id" in p for p in bad)
    assert any("pgb_bad_uidx" in p for p in bad)

    db.execute("CREATE FUNCTION ledger.pgb_probe(p_code text, p_tenant text) RETURNS int "
               "LANGUAGE sql AS 'SELECT 1'")  # fmt: skip
    db.execute("CREATE FUNCTION ledger.pgb_probe(p_tenant text) RETURNS int "
               "LANGUAGE sql SECURITY DEFINER SET search_path = public AS 'SELECT 1'")
    db.execute("COMMENT ON FUNCTION ledger.pgb_probe(text) IS 'documented'")
    found = set(function_violations(db))
    assert ("ledger.pgb_probe(text,text)", "first parameter is not p_tenant text") in found
    assert ("ledger.pgb_probe(text,text)", "not SECURITY DEFINER") in found
    assert ("ledger.pgb_probe(text,text)", "no COMMENT ON FUNCTION") in found
    assert ("ledger.pgb_probe(text)", "search_path not pinned to pg_catalog, pg_temp") in found
    assert ("ledger.pgb_probe(text)", "first parameter is not p_tenant text") not in found
    assert any("2 overloads of ledger.pgb_probe" in problem for _, problem in found)
