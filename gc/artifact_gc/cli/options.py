"""Option declarations and helpers every command shares: one place for each flag's name, variable and help."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from artifact_gc.aws import aws_message
from artifact_gc.config import GcConfig, pair_registry_sql, parse_access_point, resolve_config
from artifact_gc.errors import (
    EXIT_RUNTIME,
    EXIT_SAFETY,
    GcError,
    UsageError,
)
from artifact_gc.terraform.outputs import load_saved_outputs, read_live_outputs
from artifact_gc.terraform.runner import DEFAULT_TIMEOUT

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 runtime error (AWS failure, or some objects could not be deleted); "
    "2 bad usage or bad input; 3 a safety interlock refused to proceed (nothing was deleted)."
)

out_console = Console(soft_wrap=True)  # no hard line breaks in logs; tables still fit the width
err_console = Console(stderr=True, soft_wrap=True)

# ----------------------------------------------------------------------------------------- shared options

Bucket = Annotated[
    str | None, typer.Option("--bucket", envvar="ARTIFACT_GC_BUCKET", help="Artifact bucket name.")
]
RegistryTable = Annotated[
    list[str] | None,
    typer.Option(
        "--registry-table",
        help="DynamoDB registry table (repeatable; env ARTIFACT_GC_REGISTRY_TABLE, space- or line-separated).",
    ),
]
PathAttribute = Annotated[
    list[str] | None,
    typer.Option(
        "--path-attribute",
        help="Registry attribute holding artifact locations (repeatable; default s3_path; a.b reads a nested map too; env ARTIFACT_GC_PATH_ATTRIBUTE, one per line).",
    ),
]
Manifest = Annotated[
    list[str] | None,
    typer.Option(
        "--manifest",
        help="Manifest of referenced locations: local path or s3:// (JSON, YAML or one URI a line; repeatable; env ARTIFACT_GC_MANIFEST, one per line).",
    ),
]
Prefix = Annotated[
    list[str] | None,
    typer.Option(
        "--prefix",
        help="Key prefix the GC may touch (repeatable; default gc_config.gc_prefixes; '' = whole bucket; env ARTIFACT_GC_PREFIX, one per line).",
    ),
]
MinAge = Annotated[
    int | None,
    typer.Option(
        "--min-age-days",
        envvar="ARTIFACT_GC_MIN_AGE_DAYS",
        help="Never collect objects younger than this (default 7).",
    ),
]
TfDir = Annotated[
    Path | None,
    typer.Option(
        "--tf-dir",
        envvar="ARTIFACT_GC_TF_DIR",
        help="Read gc_config with `terraform output -json` in this directory.",
    ),
]
TfOutputs = Annotated[
    Path | None,
    typer.Option(
        "--tf-outputs",
        envvar="ARTIFACT_GC_TF_OUTPUTS",
        help="Read gc_config from a saved `terraform output -json`.",
    ),
]
TerraformBin = Annotated[
    str,
    typer.Option(
        "--terraform-bin",
        envvar="ARTIFACT_GC_TERRAFORM_BIN",
        help="Terraform binary (terraform, tofu, a path).",
    ),
]
TerraformTimeout = Annotated[
    float,
    typer.Option(
        "--terraform-timeout",
        envvar="ARTIFACT_GC_TERRAFORM_TIMEOUT",
        min=1.0,
        help="Seconds one Terraform command may run before it is killed (exit 1).",
    ),
]
Profile = Annotated[str | None, typer.Option("--profile", envvar="ARTIFACT_GC_PROFILE", help="AWS profile.")]
Region = Annotated[str | None, typer.Option("--region", envvar="ARTIFACT_GC_REGION", help="AWS region.")]
EndpointUrl = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        envvar="ARTIFACT_GC_ENDPOINT_URL",
        help="S3/DynamoDB endpoint (S3-compatible stores, emulators). AWS_ENDPOINT_URL[_S3|_DYNAMODB] also work.",
    ),
]
SkipWhere = Annotated[
    list[str] | None,
    typer.Option(
        "--skip-where",
        help="Registry rows whose string ATTRIBUTE equals VALUE protect nothing, e.g. status=deleted (repeatable; off by default; env ARTIFACT_GC_SKIP_WHERE, one per line).",
    ),
]
ScanSegments = Annotated[
    int,
    typer.Option(
        "--scan-segments",
        envvar="ARTIFACT_GC_SCAN_SEGMENTS",
        min=1,
        max=64,
        help="Parallel DynamoDB scan segments.",
    ),
]
ScanPageSize = Annotated[
    int | None,
    typer.Option(
        "--scan-page-size",
        envvar="ARTIFACT_GC_SCAN_PAGE_SIZE",
        min=1,
        help="Items per DynamoDB Scan request (smaller pages for throttled tables; default: 1 MB pages).",
    ),
]
AllowEmpty = Annotated[
    bool,
    typer.Option(
        "--allow-empty-registry", help="Proceed even if the registry yields no references (dangerous)."
    ),
]
MaxFraction = Annotated[
    float,
    typer.Option(
        "--max-delete-fraction",
        envvar="ARTIFACT_GC_MAX_DELETE_FRACTION",
        min=0.0,
        max=1.0,
        help="Refuse when candidates exceed this share of the objects in scope.",
    ),
]
MaxBytes = Annotated[
    int | None,
    typer.Option(
        "--max-delete-bytes",
        envvar="ARTIFACT_GC_MAX_DELETE_BYTES",
        min=0,
        help="Refuse when candidates exceed this many bytes.",
    ),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")]
MaxShrink = Annotated[
    float,
    typer.Option(
        "--max-registry-shrink",
        envvar="ARTIFACT_GC_MAX_REGISTRY_SHRINK",
        min=0.0,
        max=1.0,
        help="Refuse when the registry has lost more than this share of the references of the last successful run.",
    ),
]
LockTtl = Annotated[
    str,
    typer.Option(
        "--lock-ttl",
        envvar="ARTIFACT_GC_LOCK_TTL",
        help="Lease on the bucket (renewed while the run lasts; expires if it crashes), e.g. 30m, 1h.",
    ),
]
Concurrency = Annotated[
    int,
    typer.Option(
        "--concurrency",
        envvar="ARTIFACT_GC_CONCURRENCY",
        min=1,
        max=32,
        help="S3 work done at once: apply re-checks and deletes this many batches at once (each batch "
        "stays within one scope prefix); restore and rescue make this many requests at once. Above 1, S3 "
        "throttling slows everything down (botocore's adaptive retry mode).",
    ),
]
QuarantineTag = Annotated[
    str | None,
    typer.Option(
        "--quarantine-tag",
        envvar="ARTIFACT_GC_QUARANTINE_TAG",
        help="KEY=VALUE of the quarantine tag (default gc_config.quarantine_tag, else artifact-gc=condemned).",
    ),
]
AccessPoint = Annotated[
    list[str] | None,
    typer.Option(
        "--access-point",
        help="NAME=BUCKET: references through this S3 access point (alias, ARN or host) mean BUCKET (repeatable; env ARTIFACT_GC_ACCESS_POINT, one per line).",
    ),
]
RegistrySql = Annotated[
    list[str] | None,
    typer.Option(
        "--registry-sql",
        help="SQL registry: a SQLAlchemy URL without a password, or env:VAR naming the variable that holds it (repeatable, paired with --registry-query).",
    ),
]
RegistryQuery = Annotated[
    list[str] | None,
    typer.Option(
        "--registry-query",
        help="The query for the matching --registry-sql: every value of its first column is a reference.",
    ),
]
SageMaker = Annotated[
    bool | None,
    typer.Option(
        "--sagemaker/--no-sagemaker",
        envvar="ARTIFACT_GC_SAGEMAKER",
        help="Also read the SageMaker Model Registry (every package, versioned or not) and SageMaker models (default gc_config.sagemaker).",
    ),
]
MlflowTrackingUri = Annotated[
    str | None,
    typer.Option(
        "--mlflow-tracking-uri",
        envvar="ARTIFACT_GC_MLFLOW_TRACKING_URI",
        help="Also read MLflow's model registry and runs (a tracking URI without a password, or env:VAR).",
    ),
]
MlflowProtectRuns = Annotated[
    str | None,
    typer.Option(
        "--mlflow-protect-runs",
        envvar="ARTIFACT_GC_MLFLOW_PROTECT_RUNS",
        help="active (every run not deleted), registered (runs behind a live model version) or none; default active.",
    ),
]
MlflowArtifactsDestination = Annotated[
    str | None,
    typer.Option(
        "--mlflow-artifacts-destination",
        envvar="ARTIFACT_GC_MLFLOW_ARTIFACTS_DESTINATION",
        help="The tracking server's --artifacts-destination (s3://BUCKET/PREFIX), to resolve mlflow-artifacts:/ URIs.",
    ),
]
AcceptShrink = Annotated[
    bool,
    typer.Option(
        "--accept-registry-shrink", help="Proceed although the registry shrank (after checking it)."
    ),
]


def env_list(given: list[str] | None, variable: str, separator: str = "lines") -> list[str] | None:
    """A repeatable flag's values, else its environment variable's: one value per line (globs, prefixes,
    paths and attribute names may hold spaces), or split on any white space for names that cannot."""
    if given:
        return given
    raw = os.environ.get(variable)
    if raw is None:
        return given
    values = raw.split() if separator == "words" else [line.rstrip("\r") for line in raw.split("\n")]
    return [v for v in values if v.strip()] or None


def collection_flags(
    *,
    bucket: str | None,
    region: str | None,
    registry_table: list[str] | None,
    path_attribute: list[str] | None,
    manifest: list[str] | None,
    prefix: list[str] | None,
    min_age_days: int | None,
    access_point: list[str] | None,
    registry_sql: list[str] | None,
    registry_query: list[str] | None,
    sagemaker: bool | None,
    mlflow_tracking_uri: str | None,
    mlflow_protect_runs: str | None,
    mlflow_artifacts_destination: str | None,
) -> dict[str, Any]:
    """What plan and apply both take from flags and environment, as GcConfig field names (one mapping,
    so apply restates exactly what plan reads)."""
    return {
        "bucket": bucket,
        "region": region,
        "registry_tables": env_list(registry_table, "ARTIFACT_GC_REGISTRY_TABLE", "words"),
        "path_attributes": env_list(path_attribute, "ARTIFACT_GC_PATH_ATTRIBUTE"),
        "manifests": env_list(manifest, "ARTIFACT_GC_MANIFEST"),
        "prefixes": env_list(prefix, "ARTIFACT_GC_PREFIX"),
        "registry_sql": pair_registry_sql(registry_sql, registry_query),
        "sagemaker": sagemaker,
        "mlflow_tracking_uri": mlflow_tracking_uri,
        "mlflow_protect_runs": mlflow_protect_runs,
        "mlflow_artifacts_destination": mlflow_artifacts_destination,
        "access_points": [
            parse_access_point(x) for x in env_list(access_point, "ARTIFACT_GC_ACCESS_POINT") or ()
        ],
        "min_age_days": min_age_days,
    }


def load_config(
    tf_dir: Path | None,
    tf_outputs: Path | None,
    terraform_bin: str,
    flags: dict[str, Any],
    terraform_timeout: float = DEFAULT_TIMEOUT,
) -> GcConfig:
    if tf_dir and tf_outputs:
        raise UsageError("--tf-dir and --tf-outputs both given: choose one source of Terraform outputs")
    tf = None
    if tf_outputs:
        tf = load_saved_outputs(tf_outputs)
    elif tf_dir:
        tf = read_live_outputs(tf_dir, terraform_bin, terraform_timeout)
    return resolve_config(flags, tf)


T = TypeVar("T")


def guarded(action: Callable[[], T]) -> T:
    """Turn expected failures into one line on stderr and their exit code; no traceback."""
    try:
        return action()
    except GcError as exc:
        err_console.print(
            f"[red]artifact-gc: {'refused' if exc.exit_code == EXIT_SAFETY else 'error'}:[/red] {escape(str(exc))}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(exc.exit_code) from None
    except NoCredentialsError:
        err_console.print(
            "[red]artifact-gc: error:[/red] no AWS credentials found (set AWS_PROFILE / --profile, "
            "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_RUNTIME) from None
    except (ClientError, BotoCoreError) as exc:
        err_console.print(
            f"[red]artifact-gc: error:[/red] AWS call failed: {escape(aws_message(exc))}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_RUNTIME) from None
    except KeyboardInterrupt:
        err_console.print("[red]artifact-gc: interrupted[/red]")
        raise typer.Exit(130) from None


def progress_bar() -> Progress:
    """A spinner with a status line on stderr, shown only on a terminal (CI logs stay clean)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )


def now() -> datetime:
    return datetime.now(timezone.utc)
