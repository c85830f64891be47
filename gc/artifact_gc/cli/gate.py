"""`artifact-gc tf-gate`: refuse a Terraform plan that would endanger the artifacts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from artifact_gc.cli.options import (
    guarded,
    out_console,
)
from artifact_gc.errors import (
    SafetyError,
    UsageError,
)
from artifact_gc.gate.rules import evaluate, load_plan, load_policy
from artifact_gc.inputs import read_text
from artifact_gc.render.gate_summary import as_json, print_text, render_markdown


def tf_gate(
    plan_json: Annotated[
        Path, typer.Argument(metavar="PLAN_JSON", help="Output of `terraform show -json tfplan`.")
    ],
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Gate policy (YAML): floors, prefixes, rule severities.")
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="text, markdown or json.")] = "text",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the summary here instead of stdout.")
    ] = None,
) -> None:
    """Refuse a Terraform plan that would endanger the artifacts (exit 3 on errors; warnings pass)."""

    def action() -> None:
        if output_format not in ("text", "markdown", "json"):
            raise UsageError(f"--format {output_format!r}: choose text, markdown or json")
        plan_text = read_text(plan_json, f"plan {plan_json}")
        policy_text = read_text(policy, f"--policy {policy}") if policy else None
        plan = load_plan(plan_text, str(plan_json))
        rules = load_policy(policy_text, f"--policy {policy}" if policy else "default policy")
        result = evaluate(plan, rules)
        policy_name = str(policy) if policy else "built-in defaults"
        if output_format == "markdown":
            rendered = render_markdown(result, plan_json.name, policy_name)
        elif output_format == "json":
            rendered = json.dumps(as_json(result, plan_json.name), indent=2, ensure_ascii=False)
        else:
            rendered = None
        if rendered is None:
            print_text(out_console, result, plan_json.name)
        elif out:
            out.write_text(rendered + "\n", encoding="utf-8")
        else:
            print(rendered)
        if not result.passed:
            raise SafetyError(f"{len(result.errors)} gate errors: the plan must not be applied")

    guarded(action)
