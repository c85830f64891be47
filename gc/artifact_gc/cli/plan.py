"""`artifact-gc plan`: the dry run that writes a plan file."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from artifact_gc.aws import AwsClients, AwsSettings
from artifact_gc.cli.options import (
    AcceptShrink,
    AccessPoint,
    AllowEmpty,
    Bucket,
    EndpointUrl,
    JsonOut,
    Manifest,
    MaxBytes,
    MaxFraction,
    MaxShrink,
    MinAge,
    MlflowArtifactsDestination,
    MlflowProtectRuns,
    MlflowTrackingUri,
    PathAttribute,
    Prefix,
    Profile,
    Region,
    RegistryQuery,
    RegistrySql,
    RegistryTable,
    SageMaker,
    ScanPageSize,
    ScanSegments,
    SkipWhere,
    TerraformBin,
    TerraformTimeout,
    TfDir,
    TfOutputs,
    collection_flags,
    env_list,
    guarded,
    load_config,
    now,
    out_console,
    progress_bar,
)
from artifact_gc.collect.planner import PlanOptions, raise_if_refused, run_plan
from artifact_gc.config import DEFAULT_MAX_INVENTORY_AGE, parse_duration, parse_spark_conf
from artifact_gc.errors import UsageError
from artifact_gc.registry.sources import SkipRule
from artifact_gc.render.run_summary import human_bytes, plan_summary, print_plan
from artifact_gc.terraform.runner import DEFAULT_TIMEOUT


class Engine(str, Enum):
    embedded = "embedded"
    spark = "spark"


def plan(
    out: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            help="Plan file to write: JSON Lines, or Parquet when it ends in .parquet. With --engine spark "
            "a Parquet plan folder (a local path, or a URI Spark writes, such as s3://).",
        ),
    ],
    bucket: Bucket = None,
    registry_table: RegistryTable = None,
    path_attribute: PathAttribute = None,
    manifest: Manifest = None,
    prefix: Prefix = None,
    min_age_days: MinAge = None,
    keep: Annotated[
        list[str] | None,
        typer.Option(
            "--keep",
            help="Never collect keys matching this glob (repeatable; * also matches /; env ARTIFACT_GC_KEEP, one glob per line).",
        ),
    ] = None,
    skip_where: SkipWhere = None,
    scan_segments: ScanSegments = 1,
    scan_page_size: ScanPageSize = None,
    allow_empty_registry: AllowEmpty = False,
    max_delete_fraction: MaxFraction = 0.5,
    max_delete_bytes: MaxBytes = None,
    max_registry_shrink: MaxShrink = 0.1,
    accept_registry_shrink: AcceptShrink = False,
    access_point: AccessPoint = None,
    registry_sql: RegistrySql = None,
    registry_query: RegistryQuery = None,
    sagemaker: SageMaker = None,
    mlflow_tracking_uri: MlflowTrackingUri = None,
    mlflow_protect_runs: MlflowProtectRuns = None,
    mlflow_artifacts_destination: MlflowArtifactsDestination = None,
    tf_dir: TfDir = None,
    tf_outputs: TfOutputs = None,
    terraform_bin: TerraformBin = "terraform",
    terraform_timeout: TerraformTimeout = DEFAULT_TIMEOUT,
    profile: Profile = None,
    region: Region = None,
    endpoint_url: EndpointUrl = None,
    as_json: JsonOut = False,
    inventory: Annotated[
        str | None,
        typer.Option(
            "--inventory",
            envvar="ARTIFACT_GC_INVENTORY",
            help="Read the bucket's objects from an S3 Inventory delivery instead of listing: a manifest.json "
            "(s3:// or local) or the folder of one inventory configuration (newest complete delivery). "
            "Needs artifact-gc\\[inventory].",  # \\[ is a literal [ for rich markup, which would drop "[inventory]"
        ),
    ] = None,
    list_concurrency: Annotated[
        int,
        typer.Option(
            "--list-concurrency",
            envvar="ARTIFACT_GC_LIST_CONCURRENCY",
            min=1,
            max=32,
            help="Listings in flight per scope prefix, split by folder (1: one ListObjects loop).",
        ),
    ] = 4,
    max_inventory_age: Annotated[
        str | None,
        typer.Option(
            "--max-inventory-age",
            envvar="ARTIFACT_GC_MAX_INVENTORY_AGE",
            help="Refuse an inventory delivery older than this (e.g. 48h, 2d; default 48h, or gc_config.max_inventory_age).",
        ),
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            envvar="ARTIFACT_GC_ENGINE",
            help="Where the inventory mark runs: embedded (DuckDB, this machine) or spark (PySpark; needs "
            "artifact-gc\\[spark] and --inventory).",
        ),
    ] = Engine.embedded,
    spark_master: Annotated[
        str,
        typer.Option(
            "--spark-master",
            envvar="ARTIFACT_GC_SPARK_MASTER",
            help="Spark master for --engine spark (sc://HOST:PORT: Spark Connect); '' keeps the one "
            "spark-submit, SPARK_REMOTE or the platform set.",
        ),
    ] = "local[*]",
    spark_conf: Annotated[
        list[str] | None,
        typer.Option("--spark-conf", help="A Spark property for --engine spark, KEY=VALUE (repeatable)."),
    ] = None,
) -> None:
    """Dry run: find unreferenced, old-enough objects and write them to a plan file. Modifies nothing."""

    def action() -> None:
        config = load_config(
            tf_dir,
            tf_outputs,
            terraform_bin,
            collection_flags(
                bucket=bucket,
                region=region,
                registry_table=registry_table,
                path_attribute=path_attribute,
                manifest=manifest,
                prefix=prefix,
                min_age_days=min_age_days,
                access_point=access_point,
                registry_sql=registry_sql,
                registry_query=registry_query,
                sagemaker=sagemaker,
                mlflow_tracking_uri=mlflow_tracking_uri,
                mlflow_protect_runs=mlflow_protect_runs,
                mlflow_artifacts_destination=mlflow_artifacts_destination,
            )
            | {"inventory": inventory, "max_inventory_age": max_inventory_age},
            terraform_timeout,
        )
        conf = parse_spark_conf(spark_conf or [])
        if engine is Engine.spark and out.endswith((".jsonl", ".json")):
            raise UsageError(
                f"--out {out}: --engine spark writes a Parquet plan folder; name it e.g. gc-plan.parquet"
            )
        options = PlanOptions(
            out=Path(out),
            out_uri=out,
            engine=engine.value,
            spark_master=spark_master,
            spark_conf=tuple(conf.items()),
            keep_globs=tuple(env_list(keep, "ARTIFACT_GC_KEEP") or ()),
            skip_where=tuple(
                SkipRule.parse(rule) for rule in env_list(skip_where, "ARTIFACT_GC_SKIP_WHERE") or ()
            ),
            scan_segments=scan_segments,
            scan_page_size=scan_page_size,
            allow_empty_registry=allow_empty_registry,
            max_registry_shrink=max_registry_shrink,
            accept_registry_shrink=accept_registry_shrink,
            max_delete_fraction=max_delete_fraction,
            max_delete_bytes=max_delete_bytes,
            list_concurrency=list_concurrency,
            max_inventory_age_seconds=parse_duration(
                config.max_inventory_age or DEFAULT_MAX_INVENTORY_AGE, "--max-inventory-age"
            ),
        )
        clients = AwsClients(AwsSettings(region=config.region, profile=profile, endpoint_url=endpoint_url))
        with progress_bar() as progress:
            task = progress.add_task("reading the registry", total=None)

            def on_page(scope: str, objects: int, size: int) -> None:
                progress.update(
                    task,
                    description=f"listing {scope or '(whole bucket)'}: {objects:,} objects, {human_bytes(size)}",
                )

            result = run_plan(config, options, clients, now(), on_page)
        summary = plan_summary(result, str(out))
        if as_json:
            print(json.dumps(summary, indent=2, ensure_ascii=False))
        else:
            print_plan(out_console, summary)
        raise_if_refused(result)

    guarded(action)
