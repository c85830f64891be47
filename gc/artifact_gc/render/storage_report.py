"""The storage and cost report: assembled from plain aggregates (pure), rendered as text, JSON, markdown
or a self-contained HTML page with charts (jinja2 templates), and kept as a history line per run."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from rich.console import Console
from rich.table import Table

from artifact_gc.collect.planfile import isoformat
from artifact_gc.cost.lifecycle_lint import LintFinding
from artifact_gc.cost.prices import Prices
from artifact_gc.cost.simulate import Projection
from artifact_gc.errors import UsageError
from artifact_gc.inputs import read_text
from artifact_gc.objects.versions import Inventory
from artifact_gc.render.charts import line_chart, stacked_bars
from artifact_gc.render.run_summary import human_bytes


def money(value: float) -> str:
    """Dollars and cents from $1 up; below that two significant digits, so small buckets stay readable."""
    if value == 0:
        return "$0"
    sign, value = ("-" if value < 0 else ""), abs(value)
    if value >= 1:
        return f"{sign}${value:,.2f}"
    decimals = max(2, 1 - math.floor(math.log10(value)))
    return f"{sign}${value:.{decimals}f}"


def assemble(
    bucket: str,
    versioning: str,
    inventory: Inventory,
    prices: Prices,
    projections: Sequence[Projection],
    assumptions: Sequence[str],
    lint_findings: Sequence[LintFinding],
    generated_at: datetime,
) -> dict[str, Any]:
    def cost(cls: str, slot: list[int]) -> float:
        count, size, small_count, small_size = slot
        return prices.cost_of(small_size, cls, small_count, small=True) + prices.cost_of(
            size - small_size, cls, count - small_count, small=False
        )

    rows = [
        {
            "group": group,
            "storage_class": cls,
            "count": slot[0],
            "bytes": slot[1],
            "monthly_cost": cost(cls, slot),
        }
        for (group, cls), slot in sorted(inventory.current.items())
    ]
    noncurrent = [
        {"storage_class": cls, "count": slot[0], "bytes": slot[1], "monthly_cost": cost(cls, slot)}
        for cls, slot in sorted(inventory.noncurrent.items())
    ]
    uploads_cost = prices.cost_of(inventory.upload_bytes, "STANDARD", small=False)
    current_cost = sum(r["monthly_cost"] for r in rows)
    baseline = next((p for p in projections if p.name == "a"), None)
    scenarios = [
        {
            "name": p.name,
            "label": p.label,
            "total_12m": p.total,
            "savings_12m": (baseline.total - p.total) if baseline else 0.0,
            "months": [
                {
                    "month": m.month,
                    "storage": m.storage_cost,
                    "transitions": m.transition_cost,
                    "early_deletion": m.early_deletion_cost,
                    "total": m.total,
                    "bytes_by_class": m.bytes_by_class,
                }
                for m in p.months
            ],
        }
        for p in projections
    ]
    return {
        "kind": "artifact-gc-report",
        "generated_at": isoformat(generated_at),
        "bucket": bucket,
        "versioning": versioning,
        "prices": {
            "region": prices.region,
            "source": prices.source,
            "as_of": prices.as_of,
            "assumed_region": prices.assumed_region,
        },
        "depth": inventory.depth,
        "current": rows,
        "totals": {
            "objects": sum(r["count"] for r in rows),
            "bytes": sum(r["bytes"] for r in rows),
            "monthly_cost": current_cost,
            "noncurrent_objects": sum(r["count"] for r in noncurrent),
            "noncurrent_bytes": sum(r["bytes"] for r in noncurrent),
            "noncurrent_monthly_cost": sum(r["monthly_cost"] for r in noncurrent),
            "delete_markers": inventory.delete_markers,
            "incomplete_uploads": inventory.uploads,
            "incomplete_upload_bytes": inventory.upload_bytes,
            "incomplete_upload_monthly_cost": uploads_cost,
            "incomplete_uploads_truncated": inventory.uploads_truncated,
            "all_in_monthly_cost": current_cost + sum(r["monthly_cost"] for r in noncurrent) + uploads_cost,
        },
        "noncurrent": noncurrent,
        "projection": {"scenarios": scenarios, "assumptions": list(assumptions)},
        "lint": [
            {"severity": f.severity, "check": f.check, "rule": f.rule_id, "message": f.message}
            for f in lint_findings
        ],
    }


# ------------------------------------------------------------------------------------------- history


def history_line(report: dict[str, Any]) -> dict[str, Any]:
    savings = {s["name"]: s["savings_12m"] for s in report["projection"]["scenarios"]}
    return {
        "time": report["generated_at"],
        "bucket": report["bucket"],
        "objects": report["totals"]["objects"],
        "bytes": report["totals"]["bytes"] + report["totals"]["noncurrent_bytes"],
        "monthly_cost": report["totals"]["all_in_monthly_cost"],
        "savings_12m": savings,
    }


def append_history(path: Path, report: dict[str, Any]) -> list[dict[str, Any]]:
    """Append this run, return every run of the same bucket (oldest first). A missing file is a first run;
    one that is not a text file (or is a folder) is refused before anything is written to it."""
    what = f"--history {path}"
    earlier = read_text(path, what) if path.exists() or path.is_symlink() else ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(history_line(report)) + "\n")
    except OSError as exc:
        raise UsageError(f"{what}: cannot write it ({exc.strerror or exc})") from exc
    runs = []
    for line in (earlier + json.dumps(history_line(report)) + "\n").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a damaged line must not break the report
        if isinstance(entry, dict) and entry.get("bucket") == report["bucket"]:
            runs.append(entry)
    return runs


# ------------------------------------------------------------------------------------------ renderers


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("artifact_gc", "templates"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=select_autoescape(["html"]) if autoescape else False,
    )
    env.filters["bytes"] = human_bytes
    env.filters["money"] = money
    env.filters["md"] = lambda text: str(text).replace("|", "\\|").replace("\n", " ")
    return env


def render_markdown(report: dict[str, Any]) -> str:
    return _environment(False).get_template("report.md.j2").render(r=report)


def render_html(report: dict[str, Any], history: Sequence[dict[str, Any]]) -> str:
    return _environment(True).get_template("report.html.j2").render(r=report, charts=_charts(report, history))


def _charts(report: dict[str, Any], history: Sequence[dict[str, Any]]) -> dict[str, str]:
    groups = sorted({row["group"] for row in report["current"]})
    classes = sorted({row["storage_class"] for row in report["current"]})
    by_bytes: dict[str, list[float]] = {c: [0.0] * len(groups) for c in classes}
    by_cost: dict[str, list[float]] = {c: [0.0] * len(groups) for c in classes}
    for row in report["current"]:
        i = groups.index(row["group"])
        by_bytes[row["storage_class"]][i] += row["bytes"]
        by_cost[row["storage_class"]][i] += row["monthly_cost"]
    charts = {
        "bytes": stacked_bars("Bytes by storage class, per prefix", groups, by_bytes, human_bytes),
        "cost": stacked_bars("Monthly cost by storage class, per prefix", groups, by_cost, money),
    }
    scenarios = report["projection"]["scenarios"]
    if scenarios:
        months = [f"M{m['month']}" for m in scenarios[0]["months"]]
        charts["projection"] = line_chart(
            "Projected monthly cost, next 12 months",
            months,
            {s["label"]: [m["total"] for m in s["months"]] for s in scenarios},
            money,
        )
    if history:
        labels = [h["time"][5:16].replace("T", " ") for h in history]
        # a scenario's savings are charted only if every run had that scenario: a missing value is not zero
        common = set.intersection(*(set(h["savings_12m"]) for h in history)) - {"a"}
        charts["trend_cost"] = line_chart(
            "Monthly cost over past report runs",
            labels,
            {"monthly cost": [h["monthly_cost"] for h in history]},
            money,
        )
        if common:  # savings are another quantity: their own chart, not the cost axis
            charts["trend_savings"] = line_chart(
                "Projected 12-month savings over past report runs",
                labels,
                {f"scenario {name}": [h["savings_12m"][name] for h in history] for name in sorted(common)},
                money,
            )
        charts["trend_bytes"] = line_chart(
            "Stored bytes over past report runs",
            labels,
            {"bytes (all versions)": [h["bytes"] for h in history]},
            human_bytes,
            byte_axis=True,
        )
    return charts


def print_text(console: Console, report: dict[str, Any]) -> None:
    totals = report["totals"]
    console.print(
        f"[bold]Storage report[/bold] s3://{report['bucket']} (versioning {report['versioning']}), "
        f"prices {report['prices']['region']} as of {report['prices']['as_of']}"
    )
    table = Table(
        title=f"Current versions by prefix (depth {report['depth']}) and storage class", title_justify="left"
    )
    for column in ("prefix", "storage class", "objects", "size", "$/month"):
        table.add_column(column, justify="right" if column in ("objects", "size", "$/month") else "left")
    for row in report["current"]:
        table.add_row(
            row["group"],
            row["storage_class"],
            f"{row['count']:,}",
            human_bytes(row["bytes"]),
            money(row["monthly_cost"]),
        )
    table.add_row(
        "[bold]total[/bold]",
        "",
        f"{totals['objects']:,}",
        human_bytes(totals["bytes"]),
        money(totals["monthly_cost"]),
    )
    console.print(table)
    console.print(
        f"Noncurrent versions: {totals['noncurrent_objects']:,} ({human_bytes(totals['noncurrent_bytes'])}, "
        f"{money(totals['noncurrent_monthly_cost'])}/month); delete markers: {totals['delete_markers']:,}; "
        f"incomplete uploads: {totals['incomplete_uploads']:,} ({human_bytes(totals['incomplete_upload_bytes'])}, "
        f"{money(totals['incomplete_upload_monthly_cost'])}/month). All in: {money(totals['all_in_monthly_cost'])}/month."
    )
    scenarios = report["projection"]["scenarios"]
    if scenarios:
        projection = Table(title="12-month projection", title_justify="left")
        for column in ("scenario", "month 1", "month 12", "12 months", "saves vs (a)"):
            projection.add_column(column, justify="left" if column == "scenario" else "right")
        for s in scenarios:
            projection.add_row(
                s["label"],
                money(s["months"][0]["total"]),
                money(s["months"][-1]["total"]),
                money(s["total_12m"]),
                money(s["savings_12m"]),
            )
        console.print(projection)
        for assumption in report["projection"]["assumptions"]:
            console.print(f"  [dim]assumes: {assumption}[/dim]")
    for finding in report["lint"]:
        color = {"error": "red", "warning": "yellow"}.get(finding["severity"], "dim")
        console.print(
            f"  [{color}]{finding['severity']}[/{color}] lifecycle {finding['rule']}: {finding['message']}"
        )
