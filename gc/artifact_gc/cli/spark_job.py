"""The Spark job: ``artifact-gc plan --engine spark`` for spark-submit, EMR Serverless, AWS Glue and Databricks.

On a cluster the platform starts Spark and sets its master and configuration; this entry point runs the
plan there with ``--engine spark --spark-master ''`` (keep what the platform set), so a job is
``spark-submit artifact_gc/cli/spark_job.py --inventory s3://... --out s3://... [plan options]``. Options given
later on the line win (``--spark-master local[4]``). Glue and Databricks call :func:`main` with the
arguments. The plan it writes is applied on one machine: ``artifact-gc apply --plan FOLDER``.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    """Run ``artifact-gc plan`` on Spark with ``argv`` (default: the command line), exiting with its code."""
    from artifact_gc.cli.app import main as cli

    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["plan"]:
        args = args[1:]
    sys.argv = ["artifact-gc", "plan", "--engine", "spark", "--spark-master", "", *args]
    cli()


if __name__ == "__main__":
    # run as a file (spark-submit .../artifact_gc/cli/spark_job.py): its folder is not a top-level package root
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)
    main()
