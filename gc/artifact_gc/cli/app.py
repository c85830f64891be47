"""The ``artifact-gc`` command line: parse options, call the core, print. No decisions here.

Exit codes: 0 success; 1 runtime error (including per-object delete failures); 2 bad usage or bad input;
3 a safety interlock refused to proceed (nothing was deleted).
"""

from __future__ import annotations

import logging
import sys

import typer

from artifact_gc import __version__
from artifact_gc.cli import apply, gate, plan, report
from artifact_gc.cli.options import EXIT_CODES_HELP
from artifact_gc.errors import EXIT_USAGE

app = typer.Typer(
    name="artifact-gc",
    help="Registry-aware garbage collection for ML artifact buckets on S3.\n\n" + EXIT_CODES_HELP,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


app.command(epilog=EXIT_CODES_HELP)(plan.plan)
app.command(epilog=EXIT_CODES_HELP)(apply.apply)
app.command("tf-gate", epilog=EXIT_CODES_HELP)(gate.tf_gate)
app.command(epilog=EXIT_CODES_HELP)(report.report)
app.command("lint-policy", epilog=EXIT_CODES_HELP)(report.lint_policy)
app.command(epilog=EXIT_CODES_HELP)(apply.restore)
app.command(epilog=EXIT_CODES_HELP)(apply.rescue)
app.command("reset-registry-history", epilog=EXIT_CODES_HELP)(apply.reset_registry_history)


@app.command()
def version() -> None:
    """Print the version."""
    print(__version__)


def main() -> None:
    # library warnings (retries, in artifact_gc.retries) as one line each on stderr
    logging.basicConfig(level=logging.WARNING, format="artifact-gc: %(message)s")
    logging.getLogger("botocore").setLevel(logging.ERROR)
    try:
        app()
    except SystemExit as exc:
        if exc.code not in (0, None) and not isinstance(exc.code, int):
            sys.exit(EXIT_USAGE)
        raise
