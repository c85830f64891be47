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

from .errors import UsageError
from .terraform_runner import run_terraform


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
                "-no-color",
                "-compact-warnings",
                f"-var-file={tfvars.resolve()}",
                f"-out={plan_file}",
            ],
            ["show", "-json", "-no-color", str(plan_file)],
        ]
        out = ""
        for step in steps:
            code, out, err = run_terraform(step, preview_dir.resolve(), binary, env)
            if code != 0:
                raise UsageError(
                    f"terraform {step[0]} of {preview_dir} with {tfvars} failed: {_first_error(err or out)}"
                )
    outputs = json.loads(out)["planned_values"]["outputs"]
    return LifecyclePreview(
        configuration=outputs["lifecycle_configuration"]["value"],
        transition_default_minimum_object_size=outputs["transition_default_minimum_object_size"]["value"],
        warnings=list(outputs["warnings"]["value"]),
    )


def _first_error(text: str) -> str:
    """Terraform's error summary and detail on one line, without box-drawing decoration."""
    lines = [re.sub(r"^[│╷╵\s]+", "", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    for index, line in enumerate(lines):
        if line.startswith("Error:"):
            detail = [
                entry
                for entry in lines[index + 1 :]
                if not entry.startswith(("on ", "Error:", "This was checked"))
                and "├" not in entry
                and not re.match(r"^\d+:|^[\w.\[\]\"]+ is ", entry)  # source excerpts, value notes
            ]
            return " ".join([line, *detail[:6]])
    return lines[-1] if lines else "no output"
