"""Evaluate the lifecycle-policy module with an environment's tfvars, offline, and return its document.

Runs ``terraform plan`` on the provider-less root ``terraform/lifecycle-preview`` and reads the planned
outputs from ``terraform show -json``: the lifecycle rules the demo applies (and the tests round-trip)
come from the same module and tfvars as production, never from a second hand-written copy.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from artifact_gc.errors import UsageError
from artifact_gc.inputs import read_text
from artifact_gc.terraform.runner import run_terraform


@dataclass(frozen=True)
class LifecyclePreview:
    configuration: dict[str, Any]  # boto3 LifecycleConfiguration
    transition_default_minimum_object_size: str
    warnings: list[str]


BUNDLED_ROOT = "terraform/bundled"  # package data: modules/lifecycle-policy + terraform/lifecycle-preview
PREVIEW_IN_BUNDLE = Path("terraform") / "lifecycle-preview"


def evaluate_lifecycle(
    preview_dir: Path | None, tfvars: Path, binary: str | None = None, timeout: float = 120.0
) -> LifecyclePreview:
    """Plan the lifecycle-preview root with ``tfvars``; UsageError with Terraform's message if the tiers are
    refused. ``preview_dir`` None means the root shipped in the package (copied to a scratch folder first,
    since an installed package may be read-only)."""
    read_text(tfvars, f"tfvars {tfvars}")  # text, not a picture: Terraform would chew on it for minutes
    with tempfile.TemporaryDirectory(prefix="artifact-gc-tf-") as scratch:
        if preview_dir is None:
            bundle = Path(scratch) / "bundle"
            with resources.as_file(resources.files("artifact_gc").joinpath(BUNDLED_ROOT)) as source:
                shutil.copytree(source, bundle, ignore=shutil.ignore_patterns("tests", "*.md"))
            preview_dir = bundle / PREVIEW_IN_BUNDLE
            shown = "the bundled lifecycle-preview"
        else:
            if not preview_dir.is_dir() or not any(preview_dir.glob("*.tf")):
                raise UsageError(
                    f"--preview-dir {preview_dir}: not a folder of .tf files; leave it out to use the "
                    "lifecycle-policy module shipped with artifact-gc"
                )
            shown = str(preview_dir)
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
            code, out, err = run_terraform(step, preview_dir.resolve(), binary, env, timeout=timeout)
            if code != 0:
                reason = _json_errors(out) or _first_error(err or out)
                raise UsageError(f"terraform {step[0]} of {shown} with {tfvars} failed: {reason}")
    outputs = json.loads(out)["planned_values"]["outputs"]
    return LifecyclePreview(
        configuration=outputs["lifecycle_configuration"]["value"],
        transition_default_minimum_object_size=outputs["transition_default_minimum_object_size"]["value"],
        warnings=list(outputs["warnings"]["value"]),
    )


def _json_errors(stream: str) -> str:
    """Error diagnostics from ``-json`` output, each as "summary: detail" on one line; repeats counted."""
    found: list[str] = []
    for line in stream.splitlines():
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        diagnostic = message.get("diagnostic") if isinstance(message, dict) else None
        if diagnostic and diagnostic.get("severity") == "error":
            detail = " ".join(diagnostic.get("detail", "").split())
            found.append(f"{diagnostic.get('summary', 'Error')}: {detail}".rstrip(": "))
    return summarise(found)


def summarise(messages: list[str], first: int = 3) -> str:
    """The first few distinct messages, then how many more: a binary tfvars once gave 190 KB of one error."""
    distinct = list(dict.fromkeys(messages))
    shown = "; ".join(m if len(m) <= 300 else m[:300] + "…" for m in distinct[:first])
    rest = len(messages) - sum(messages.count(m) for m in distinct[:first])
    repeated = len(messages) - len(distinct)
    if rest:
        shown += f" (and {rest} more diagnostics)"
    elif repeated:
        shown += f" ({repeated} repeats left out)"
    return shown


def _first_error(text: str) -> str:
    """Fallback for commands without -json: the first error and what follows it, on one line."""
    lines = [re.sub(r"^[│╷╵\s]+", "", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    for index, line in enumerate(lines):
        if line.startswith("Error:"):
            return " ".join(lines[index : index + 8])
    return lines[-1] if lines else "no output"
