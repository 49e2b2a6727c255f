"""The incidents table of `pgbalance run`: every registered incident, unprotected and then
against pgbalance, side by side in one table. Only pgbalance rows decide the exit status."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from pgbalance.harness.incidents import INCIDENTS
from pgbalance.harness.incidents.base import Incident, IncidentResult


def _row(table: Table, result: IncidentResult, first: bool) -> None:
    bad = result.anomalies > 0
    if result.variant == "pgbalance":
        style = "bold red" if bad else "green"
        verify = "clean" if result.verify_clean else "[bold red]VIOLATIONS[/]"
    else:
        style = "red" if bad else "yellow"  # an unprotected run that did no harm got lucky
        verify = "n/a"
    table.add_row(
        result.incident if first else "",
        f"[{style}]{result.variant}[/]",
        str(result.attempts),
        f"[{style}]{result.effects_applied}[/] / {result.expected_effects}",
        f"[{style}]{result.money_wrongly_moved}[/]",
        verify,
    )


def run_incidents(
    dsn: str, workers: int, console: Console, incidents: list[Incident] | None = None
) -> bool:
    """Run each incident both ways with `workers` connections released together; print the
    table; True when every pgbalance row has zero anomalies."""
    table = Table(title=f"incident replays: {workers} connections released together")
    # Fits 80 columns (a pipe, CI) with the incident names readable.
    table.add_column("incident", min_width=17)
    table.add_column("variant", no_wrap=True)
    table.add_column("attempts", justify="right")
    table.add_column("effects / expected", justify="right", max_width=10)
    table.add_column("money wrongly moved", justify="right", max_width=9)
    table.add_column("verify", no_wrap=True)
    ok = True
    problems: list[str] = []
    for incident in INCIDENTS if incidents is None else incidents:
        table.add_section()
        for variant, run in (("unprotected", incident.run_unprotected),
                             ("pgbalance", incident.run_protected)):  # fmt: skip
            try:
                result = run(dsn, workers)
            except Exception as exc:  # shown in the table, and fails a pgbalance row
                table.add_row(incident.name if variant == "unprotected" else "", variant,
                              str(workers), "[bold red]error[/]", "", "")  # fmt: skip
                problems.append(f"{incident.name} ({variant}): {exc!r}")
                ok = ok and variant != "pgbalance"
                continue
            _row(table, result, first=variant == "unprotected")
            if variant == "pgbalance" and result.anomalies:
                ok = False
                problems.append(f"{incident.name}: {result.anomalies} anomalies under pgbalance")
    table.caption = ("unprotected: the incident's SQL in a scratch schema; pgbalance: the same "
                     "load through the SQL functions; money in minor units")  # fmt: skip
    console.print(table)
    for problem in problems:
        console.print(f"[bold red]FAIL[/bold red] {problem}")
    if ok:
        console.print("[bold green]incidents[/bold green]: under pgbalance every effect "
                      "happened once, no money moved wrongly, verify clean")  # fmt: skip
    return ok
