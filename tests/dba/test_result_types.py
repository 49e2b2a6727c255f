"""Each row shape the kernel returns is declared once (migrations/0017_result_types.sql): no
function of the pgbalance schemas spells out, as RETURNS TABLE (...) or OUT parameters, the
columns of a declared result type; it returns the type instead. Every declared result type is
returned by some function and has a COMMENT."""

from __future__ import annotations

from typing import Any

import psycopg

from pgbalance.migrate import KERNEL_SCHEMAS

# (function, type) for every function whose OUT / TABLE columns (names and types, in order)
# are exactly a composite type's of the kernel schemas.
_RESPELLED = """
WITH types AS (
    SELECT t.oid::regtype::text AS name,
           array_agg(a.attname || ' ' || format_type(a.atttypid, NULL) ORDER BY a.attnum) AS cols
      FROM pg_type AS t
      JOIN pg_class AS c ON c.oid = t.typrelid AND c.relkind = 'c'
      JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE t.typnamespace::regnamespace::text = ANY(%(schemas)s)
     GROUP BY t.oid
), functions AS (
    SELECT p.oid::regprocedure::text AS name,
           array_agg(a.name || ' ' || format_type(a.type, NULL) ORDER BY a.ord) AS cols
      FROM pg_proc AS p,
           unnest(p.proargnames, p.proallargtypes, p.proargmodes)
               WITH ORDINALITY AS a(name, type, mode, ord)
     WHERE p.pronamespace::regnamespace::text = ANY(%(schemas)s) AND a.mode IN ('o', 't')
     GROUP BY p.oid
)
SELECT f.name, t.name FROM functions AS f JOIN types AS t ON t.cols = f.cols ORDER BY 1
"""

_UNUSED_OR_UNCOMMENTED = """
SELECT t.oid::regtype::text,
       EXISTS (SELECT FROM pg_proc AS p WHERE p.prorettype = t.oid),
       obj_description(t.oid, 'pg_type') IS NOT NULL
  FROM pg_type AS t JOIN pg_class AS c ON c.oid = t.typrelid AND c.relkind = 'c'
 WHERE t.typnamespace::regnamespace::text = ANY(%(schemas)s)
 ORDER BY 1
"""


def respelled(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    rows = conn.execute(_RESPELLED, {"schemas": list(KERNEL_SCHEMAS)}).fetchall()
    return [(str(fn), str(ty)) for fn, ty in rows]


def test_no_function_spells_out_a_declared_result_type(db: psycopg.Connection[Any]) -> None:
    assert respelled(db) == []


def test_every_result_type_is_returned_and_commented(db: psycopg.Connection[Any]) -> None:
    rows = db.execute(_UNUSED_OR_UNCOMMENTED, {"schemas": list(KERNEL_SCHEMAS)}).fetchall()
    assert rows, "no result type declared"
    assert [name for name, used, _ in rows if not used] == []
    assert [name for name, _, commented in rows if not commented] == []


def test_the_check_sees_a_respelled_shape(db: psycopg.Connection[Any]) -> None:
    """Shown able to fail: a function returning the movement row as TABLE (...) is found."""
    with db.transaction(force_rollback=True):
        db.execute(
            "CREATE FUNCTION ledger.respelled(p_tenant text)"
            " RETURNS TABLE (entry_id bigint, status text, replayed boolean)"
            " LANGUAGE sql AS $$ SELECT 1::bigint, 'posted', false $$"
        )
        assert respelled(db) == [("ledger.respelled(text)", "ledger.movement_result")]
