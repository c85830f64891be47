"""Evaluate the lifecycle-policy module with an environment's tfvars, offline, and return its document.

Runs ``terraform plan`` on the provider-less root ``terraform/lifecycle-preview`` and reads the planned
outputs from ``terraform show -json``: the lifecycle rules the demo applies (and the tests round-trip)
come from the same module and tfvars as production, never from a second hand-written copy.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artifact_gc.errors import UsageError
from artifact_gc.terraform.runner import run_terraform


@dataclass(frozen=True)
class LifecyclePreview:
    configuration: dict[str, Any]  # boto3 LifecycleConfiguration
    transition_default_minimum_object_size: str
    warnings: list[str]


def evaluate_lifecycle(preview_dir: Path, tfvars: Path, binary: str | None = None) -> LifecyclePreview:
    """Plan ``preview_dir`` with ``tfvars``; UsageError with Terraform's message if the tiers are refused."""
    if not tfvars.is_file():
        raise UsageError(f"tfvars {tfvars}: no such file")
    with tempfile.TemporaryDirectory(prefix="artifact-gc-tf-") as scratch:
        # A private data dir: no .terraform/ left in the repository, no clash between parallel runs.
        env = {"TF_DATA_DIR": str(Path(scratch) / "data")}
        plan_file = Path(scratch) / "plan"
        steps = [
            ["init", "-backend=false", "-input=false", "-no-color"],
            [
                "plan",
                "-input=false",
                "-lock=false",
                "-json",  # machine-readable diagnostics: whole messages, no wrapping or box drawing
                f"-var-file={tfvars.resolve()}",
                f"-out={plan_file}",
            ],
            ["show", "-json", "-no-color", str(plan_file)],
        ]
        out = ""
        for step in steps:
            code, out, err = run_terraform(step, preview_dir.resolve(), binary, env)
            if code != 0:
                reason = _json_errors(out) or _first_error(err or out)
                raise UsageError(f"terraform {step[0]} of {preview_dir} with {tfvars} failed: {reason}")
    outputs = json.loads(out)["planned_values"]["outputs"]
    return LifecyclePreview(
        configuration=outputs["lifecycle_configuration"]["value"],
        transition_default_minimum_object_size=outputs["transition_default_minimum_object_size"]["value"],
        warnings=list(outputs["warnings"]["value"]),
    )


def _json_errors(stream: str) -> str:
    """Error diagnostics from ``-json`` output, each as "summary: detail" on one line."""
    found = []
    for line in stream.splitlines():
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        diagnostic = message.get("diagnostic") if isinstance(message, dict) else None
        if diagnostic and diagnostic.get("severity") == "error":
            detail = " ".join(diagnostic.get("detail", "").split())
            found.append(f"{diagnostic.get('summary', 'Error')}: {detail}".rstrip(": "))
    return "; ".join(found)


def _first_error(text: str) -> str:
    """Fallback for commands without -json: the first error and what follows it, on one line."""
    lines = [re.sub(r"^[│╷╵\s]+", "", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    for index, line in enumerate(lines):
        if line.startswith("Error:"):
            return " ".join(lines[index : index + 8])
    return lines[-1] if lines else "no output"
