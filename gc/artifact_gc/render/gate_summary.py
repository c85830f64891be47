"""Render a GateResult: markdown for reviewers (jinja2), JSON for machines, rich text for terminals."""

from __future__ import annotations

import dataclasses
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from rich.console import Console
from rich.table import Table

from artifact_gc.gate.rules import GateResult


def _markdown_cell(text: str) -> str:
    """Keep a value inside one markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(result: GateResult, plan_name: str, policy_name: str) -> str:
    env = Environment(
        loader=PackageLoader("artifact_gc", "templates"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["md"] = _markdown_cell
    return env.get_template("gate.md.j2").render(result=result, plan_name=plan_name, policy_name=policy_name)


def as_json(result: GateResult, plan_name: str) -> dict[str, Any]:
    return {
        "plan": plan_name,
        "verdict": "pass" if result.passed else "fail",
        "errors": len(result.errors),
        "warnings": len(result.warnings),
        "resources_checked": result.resources_checked,
        "findings": [dataclasses.asdict(f) for f in result.findings],
        "lifecycle_changes": [dataclasses.asdict(row) for row in result.lifecycle_changes],
    }


def print_text(console: Console, result: GateResult, plan_name: str) -> None:
    verdict = "[green]passes[/green]" if result.passed else "[red]refused[/red]"
    console.print(
        f"tf-gate: {plan_name} {verdict} ({len(result.errors)} errors, {len(result.warnings)} warnings, "
        f"{result.resources_checked} resource changes checked)"
    )
    if result.findings:
        table = Table(show_lines=False)
        for column in ("severity", "rule", "resource", "finding"):
            table.add_column(column, overflow="fold")
        for f in result.findings:
            table.add_row(
                f"[red]{f.severity}[/red]" if f.severity == "error" else f"[yellow]{f.severity}[/yellow]",
                f.rule,
                f.address,
                f.message,
            )
        console.print(table)
    if result.lifecycle_changes:
        table = Table(title="Lifecycle rules that change", title_justify="left")
        for column in ("resource", "rule", "before", "after"):
            table.add_column(column, overflow="fold")
        for row in result.lifecycle_changes:
            table.add_row(row.address, row.rule_id, row.before, row.after)
        console.print(table)
