"""The oracle: the database and the recorded history must agree.

Checks that hold for every scenario, run here; each scenario adds its own (exactly once per
key, workflow states, balances implied by the history) through Scenario.check:

- ledger.verify(tenant) returns nothing (the kernel recomputed from its postings);
- money is conserved: per currency the tenant's balances sum to 0 and its pending debits
  equal its pending credits (read through ledger.get_account, as the superuser);
- every rejection carries a SQLSTATE the contract documents for that call, and never a
  deadlock (40P01) or serialization failure (40001);
- every indeterminate call was resolved by retrying it with the same key;
- the harness itself ran cleanly (no worker died, every fault was undone).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from pgbalance.harness.stress.model import NEVER_SQLSTATES, Anomaly, Conn, Op, Row
from pgbalance.harness.stress.workload.base import Scenario, fetch


def check(
    conn: Conn,
    tenant: str,
    scenarios: Sequence[Scenario],
    ops: Sequence[Op],
    problems: Sequence[str],
    naive: bool = False,
) -> tuple[list[Anomaly], list[Row]]:
    """All anomalies of the run, and the consistency rows (ledger.verify, or the naive
    store's own recomputation)."""
    anomalies = [Anomaly("harness", "run", p, "harness") for p in problems]
    anomalies += rejections(ops)
    anomalies += [
        Anomaly(
            "unresolved",
            op.call.subject,
            f"outcome still unknown: {op.describe()}",
            op.call.scenario,
        )
        for op in ops
        if op.outcome == "unresolved"
    ]
    verify_rows: list[Row] = []
    if not naive:
        verify_rows = fetch(conn, "SELECT * FROM ledger.verify(%s)", (tenant,))
        anomalies += [
            Anomaly("ledger.verify", f"{r['check_name']} {r['subject']}", r["detail"], "tenant")
            for r in verify_rows
        ]
        anomalies += [replace(a, scenario="tenant") for a in conservation(conn, tenant)]
    for scenario in scenarios:
        verify_rows += scenario.verify(conn)
        found = scenario.check(conn, [op for op in ops if op.call.scenario == scenario.name])
        anomalies += [replace(a, scenario=scenario.name) for a in found]
    return anomalies, verify_rows


def conservation(conn: Conn, tenant: str) -> list[Anomaly]:
    """Per currency, every movement is double-entry: balances sum to 0, holds net to 0."""
    # The codes first: Citus refuses a function that reads tables inside a query over a
    # distributed table.
    codes = [r["code"] for r in fetch(
        conn, "SELECT code FROM ledger.account WHERE tenant_id = %s", (tenant,))]  # fmt: skip
    rows = fetch(
        conn,
        "SELECT g.currency, sum(g.balance)::bigint AS balance,"
        "       sum(g.pending_out)::bigint AS pending_out, sum(g.pending_in)::bigint AS pending_in"
        "  FROM unnest(%s::text[]) AS c(code), ledger.get_account(%s, c.code) AS g"
        " GROUP BY g.currency ORDER BY 1",
        (codes, tenant),
    )
    out: list[Anomaly] = []
    for r in rows:
        if r["balance"] != 0:
            out.append(
                Anomaly("money_conserved", r["currency"], f"balances sum to {r['balance']}, not 0")
            )
        if r["pending_out"] != r["pending_in"]:
            out.append(
                Anomaly(
                    "money_conserved",
                    r["currency"],
                    f"pending_out {r['pending_out']} != pending_in {r['pending_in']}",
                )
            )
    return out


def rejections(ops: Sequence[Op]) -> list[Anomaly]:
    """Rejections the contract does not document for the call, grouped by kind and code."""
    seen: dict[tuple[str, str, str, str], list[Op]] = defaultdict(list)
    for op in ops:
        if op.outcome != "rejected":
            continue
        state = op.sqlstate or "?"
        if state in NEVER_SQLSTATES:
            seen[("never_surfaces", op.call.scenario, op.call.kind, state)].append(op)
        elif state not in op.call.allowed:
            seen[("unexpected_sqlstate", op.call.scenario, op.call.kind, state)].append(op)
    return [
        Anomaly(
            check,
            f"{kind} {state}",
            f"{len(group)} calls, e.g. {group[0].describe()}",
            scenario,
        )
        for (check, scenario, kind, state), group in sorted(seen.items())
    ]
