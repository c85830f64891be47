"""Read the ``gc_config`` Terraform output: live with ``terraform output -json`` or from a saved copy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from artifact_gc.errors import UsageError
from artifact_gc.inputs import read_text
from artifact_gc.terraform.runner import DEFAULT_TIMEOUT, run_terraform

OUTPUT_NAME = "gc_config"


def gc_config_from_document(document: Any, origin: str) -> dict[str, Any]:
    """Accept the whole ``terraform output -json`` document, or just the ``gc_config`` value."""
    if isinstance(document, dict) and OUTPUT_NAME in document:
        entry = document[OUTPUT_NAME]
        value = entry.get("value") if isinstance(entry, dict) and "value" in entry else entry
    else:
        value = document
    if not isinstance(value, dict) or "bucket" not in value:
        raise UsageError(
            f"{origin}: no '{OUTPUT_NAME}' output with a 'bucket' key (expected `terraform output -json` "
            f"of the artifact-gc root module, or its '{OUTPUT_NAME}' value)"
        )
    return value


def load_saved_document(path: Path) -> Any:
    """A saved copy of ``terraform output -json`` (or any JSON document), parsed."""
    text = read_text(path, str(path))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from exc


def load_saved_outputs(path: Path) -> dict[str, Any]:
    """``--tf-outputs FILE``: a saved copy of ``terraform output -json``."""
    try:
        document = load_saved_document(path)
    except UsageError as exc:
        raise UsageError(f"--tf-outputs {exc}") from exc
    return gc_config_from_document(document, f"--tf-outputs {path}")


def read_live_document(
    tf_dir: Path, terraform_bin: str = "terraform", timeout: float = DEFAULT_TIMEOUT
) -> Any:
    """``terraform output -json`` in ``tf_dir`` (``--terraform-bin tofu`` works too), parsed; bounded."""
    if not tf_dir.is_dir():
        raise UsageError(f"--tf-dir {tf_dir}: no such directory")
    binary = shutil.which(terraform_bin)
    if binary is None:
        raise UsageError(
            f"--terraform-bin {terraform_bin!r}: not found on PATH (install Terraform or OpenTofu, "
            "or save the outputs with `terraform output -json > outputs.json` and pass --tf-outputs)"
        )
    code, out, err = run_terraform(["output", "-json", "-no-color"], tf_dir, binary, timeout=timeout)
    if code != 0:
        detail = (err or out or "").strip().splitlines()
        raise UsageError(
            f"`{terraform_bin} output -json` in {tf_dir} failed: {detail[-1] if detail else f'exit {code}'}"
        )
    try:
        document = json.loads(out)
    except json.JSONDecodeError as exc:
        raise UsageError(f"`{terraform_bin} output -json` in {tf_dir} printed no JSON ({exc.msg})") from exc
    if document == {}:
        raise UsageError(
            f"--tf-dir {tf_dir}: Terraform has no outputs there: has `terraform apply` run in it "
            "(or is this the wrong folder)?"
        )
    return document


def read_live_outputs(
    tf_dir: Path, terraform_bin: str = "terraform", timeout: float = DEFAULT_TIMEOUT
) -> dict[str, Any]:
    """``--tf-dir DIR``: the ``gc_config`` output of ``terraform output -json`` there."""
    return gc_config_from_document(
        read_live_document(tf_dir, terraform_bin, timeout), f"terraform outputs in {tf_dir}"
    )


def output_value(document: Any, name: str) -> Any:
    """The value of output ``name`` in a ``terraform output -json`` document, or None."""
    if isinstance(document, dict) and isinstance(document.get(name), dict) and "value" in document[name]:
        return document[name]["value"]
    return None
