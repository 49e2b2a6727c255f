"""The run's report: a summary table on the console, the same as JSON with --json."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.table import Table

from pgbalance.harness.stress.model import Anomaly, Op, Row


@dataclass(frozen=True)
class Report:
    scenario: str
    scenarios: list[str]
    naive: bool
    workers: int
    seconds: float
    seed: int
    tenant: str
    faults_requested: list[str]
    ops: int
    ok: int
    replayed: int
    rejected: dict[str, int]
    indeterminate: int
    # How the indeterminate calls turned out once retried with the same key.
    resolved: dict[str, int]
    unresolved: int
    retries: int
    faults: dict[str, int]
    anomalies: list[dict[str, str]]
    verify: list[dict[str, Any]]
    ops_per_s: float
    latency_ms: dict[str, float]
    by_kind: dict[str, dict[str, int]]
    # The change-feed consumer beside the workers: changes read, reads, restarts from NULL
    # (empty when no consumer ran: --naive).
    feed: dict[str, int]

    @property
    def faults_injected(self) -> int:
        return sum(self.faults.values())

    @property
    def exit_code(self) -> int:
        return 1 if self.anomalies else 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.as_dict(), indent=2, default=str) + "\n")

    def render(self, console: Console, limit: int = 20) -> None:
        summary = Table(title="pgbalance stress" + (" (naive)" if self.naive else ""))
        summary.add_column("metric")
        summary.add_column("value", justify="right")
        rejected = ", ".join(f"{k} {v}" for k, v in sorted(self.rejected.items())) or "0"
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())) or "none"
        rows = [
            ("scenario", f"{self.scenario} ({', '.join(self.scenarios)})"),
            ("workers x seconds", f"{self.workers} x {self.seconds:.1f}"),
            ("seed", str(self.seed)),
            ("ops", str(self.ops)),
            ("ops/s", f"{self.ops_per_s:.0f}"),
            ("ok", f"{self.ok} ({self.replayed} replayed)"),
            ("rejected", f"{sum(self.rejected.values())}: {rejected}"),
            ("indeterminate", str(self.indeterminate)),
            ("  resolved by retry", ", ".join(f"{k} {v}" for k, v in self.resolved.items())),
            ("unresolved", str(self.unresolved)),
            ("retries", str(self.retries)),
            ("faults injected", faults),
            (
                "latency p50 / p99",
                f"{self.latency_ms['p50']:.1f} / {self.latency_ms['p99']:.1f} ms",
            ),
            ("verify rows", str(len(self.verify))),
        ]
        for name, value in rows:
            summary.add_row(name, value)
        style = "bold red" if self.anomalies else "bold green"
        summary.add_row(f"[{style}]anomalies[/]", f"[{style}]{len(self.anomalies)}[/]")
        kinds = Table(title="by call")
        for col in ("call", "ok", "rejected", "indeterminate"):
            kinds.add_column(col, justify="right" if col != "call" else "left")
        for kind, c in sorted(self.by_kind.items()):
            kinds.add_row(
                kind, str(c.get("ok", 0)), str(c.get("rejected", 0)), str(c.get("indeterminate", 0))
            )
        parts: list[Any] = [summary, kinds]
        if self.anomalies:
            bad = Table(title=f"anomalies ({len(self.anomalies)})", title_style="bold red")
            for col in ("scenario", "check", "subject", "detail"):
                bad.add_column(col, overflow="fold")
            for a in self.anomalies[:limit]:
                bad.add_row(a["scenario"], a["check"], a["subject"], a["detail"])
            if len(self.anomalies) > limit:
                bad.caption = f"... and {len(self.anomalies) - limit} more (see --json)"
            parts.append(bad)
        console.print(Group(*parts))


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def build_report(
    *,
    ops: Sequence[Op],
    anomalies: Sequence[Anomaly],
    verify: Sequence[Row],
    faults: dict[str, int],
    scenario: str,
    scenarios: list[str],
    naive: bool,
    workers: int,
    seconds: float,
    seed: int,
    tenant: str,
    faults_requested: list[str],
    feed: dict[str, int] | None = None,
) -> Report:
    rejected: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = {}
    for op in ops:
        kind = by_kind.setdefault(f"{op.call.scenario}.{op.call.kind}", Counter())
        kind[op.outcome] += 1
        if op.was_indeterminate:
            kind["indeterminate"] += 1
        if op.outcome == "rejected":
            rejected[op.sqlstate or "?"] += 1
    latencies = [op.latency * 1000 for op in ops if op.latency is not None]
    resolved: Counter[str] = Counter()
    for op in ops:
        if not op.was_indeterminate:
            continue
        if op.outcome != "ok":
            resolved[op.outcome] += 1
        elif not op.call.reports_replay:
            resolved["ok"] += 1
        else:
            resolved["had taken effect" if op.replayed else "applied by the retry"] += 1
    for name in faults_requested:
        faults.setdefault(name, 0)
    return Report(
        scenario=scenario,
        scenarios=scenarios,
        naive=naive,
        workers=workers,
        seconds=round(seconds, 3),
        seed=seed,
        tenant=tenant,
        faults_requested=faults_requested,
        ops=len(ops),
        ok=sum(1 for op in ops if op.ok),
        replayed=sum(1 for op in ops if op.ok and op.replayed),
        rejected=dict(sorted(rejected.items())),
        indeterminate=sum(1 for op in ops if op.was_indeterminate),
        resolved=dict(sorted(resolved.items())),
        unresolved=sum(1 for op in ops if op.outcome == "unresolved"),
        retries=sum(max(op.attempts - 1, 0) for op in ops),
        faults=dict(sorted(faults.items())),
        anomalies=[a.as_dict() for a in anomalies],
        verify=[dict(r) for r in verify],
        ops_per_s=round(len(ops) / seconds, 1) if seconds > 0 else 0.0,
        latency_ms={
            "p50": round(_percentile(latencies, 0.5), 2),
            "p99": round(_percentile(latencies, 0.99), 2),
        },
        by_kind={k: dict(v) for k, v in sorted(by_kind.items())},
        feed=feed or {},
    )
