"""``artifact-gc plan``: collect references, list the scope, mark, stream candidates to the plan file."""

from __future__ import annotations

import heapq
import json
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from artifact_gc import __version__
from artifact_gc.aws import AwsClients, aws_message
from artifact_gc.collect.control import CONTROL_PREFIX, check_shrink
from artifact_gc.collect.mark import KeepRules, MarkStats, mark
from artifact_gc.collect.object_info import ObjectInfo
from artifact_gc.collect.planfile import PlanWriter, candidate_record, isoformat
from artifact_gc.collect.safety import check_delete_limits
from artifact_gc.config import DEFAULT_MAX_INVENTORY_AGE, GcConfig, normalise_prefixes, parse_duration
from artifact_gc.errors import AwsError, SafetyError, UsageError
from artifact_gc.objects.listing import bucket_versioning, list_pages
from artifact_gc.objects.parallel_listing import Listing, list_in_parallel
from artifact_gc.registry.mlflow import MlflowSource, check_mlflow_options
from artifact_gc.registry.sagemaker import SageMakerSource
from artifact_gc.registry.sources import (
    DynamoDbSource,
    ManifestSource,
    RegistrySnapshot,
    RegistrySource,
    SkipRule,
    collect_references,
)
from artifact_gc.registry.sql import SqlSource, check_sql_url

ProgressHook = Callable[[str, int, int], None]  # (prefix, objects so far, bytes so far)


@dataclass(frozen=True)
class PlanOptions:
    """Everything ``plan`` needs beyond the resolved GcConfig."""

    out: Path
    keep_globs: tuple[str, ...] = ()
    skip_where: tuple[SkipRule, ...] = ()
    scan_segments: int = 1
    scan_page_size: int | None = None
    allow_empty_registry: bool = False
    max_registry_shrink: float = 0.1
    accept_registry_shrink: bool = False
    max_delete_fraction: float = 0.5
    max_delete_bytes: int | None = None
    max_inventory_age_seconds: float = parse_duration(DEFAULT_MAX_INVENTORY_AGE, "--max-inventory-age")
    list_concurrency: int = 1  # parallel listings per scope prefix (1: one ListObjects loop)
    engine: str = "embedded"  # where the inventory mark runs: "embedded" (DuckDB here) or "spark"
    spark_master: str | None = "local[*]"  # None or "": as spark-submit or the platform set it
    spark_conf: tuple[tuple[str, str], ...] = ()
    out_uri: str | None = None  # --out as given, for a Spark plan folder on s3:// and the like


@dataclass
class PlanResult:
    header: dict[str, Any]
    stats: MarkStats
    snapshot: RegistrySnapshot
    refused: str | None = None  # a limit the plan exceeds: apply will refuse too
    warnings: list[str] = field(default_factory=list)


def build_sources(
    config: GcConfig,
    clients: AwsClients,
    skip_where: tuple[SkipRule, ...],
    segments: int,
    page_size: int | None = None,
) -> list[RegistrySource]:
    attrs = config.effective_path_attributes
    sources: list[RegistrySource] = [
        DynamoDbSource(clients.dynamodb, table, attrs, skip_where, segments, page_size)
        for table in config.registry_tables
    ]
    sources += [ManifestSource(location, attrs, clients.s3) for location in config.manifests]
    for url, query in config.registry_sql:
        check_sql_url(url)
        sources.append(SqlSource(url, query))
    if config.sagemaker:
        sources.append(SageMakerSource(clients.client("sagemaker")))
    if config.mlflow_tracking_uri:
        protect = config.mlflow_protect_runs or "active"
        check_mlflow_options(config.mlflow_tracking_uri, protect, config.mlflow_artifacts_destination)
        sources.append(MlflowSource(config.mlflow_tracking_uri, protect, config.mlflow_artifacts_destination))
    return sources


def run_plan(
    config: GcConfig,
    options: PlanOptions,
    clients: AwsClients,
    now: datetime,
    on_page: ProgressHook | None = None,
) -> PlanResult:
    """Write the plan file and return what it found. Modifies nothing in AWS."""
    if not config.bucket:
        raise UsageError(
            "no bucket: give --bucket, ARTIFACT_GC_BUCKET, or --tf-dir/--tf-outputs with gc_config.bucket"
        )
    if config.prefixes is None:
        raise UsageError(
            "no scope: give --prefix (repeatable; --prefix '' for the whole bucket) or gc_config.gc_prefixes"
        )
    if options.engine != "spark" and options.out.is_dir():
        raise UsageError(
            f"--out {options.out} is a folder: give the plan file's path (plan folders are what "
            "--engine spark writes)"
        )
    if options.out.suffix == ".parquet":
        from artifact_gc.collect.parquet_plan import modules as parquet_modules

        parquet_modules()  # before any listing: a Parquet plan needs pyarrow
    if options.engine == "spark" and not config.inventory:
        raise UsageError(
            "--engine spark marks an S3 Inventory delivery: give --inventory LOCATION "
            "(or gc_config.inventory), or leave --engine at embedded to list the bucket"
        )
    bucket = config.bucket
    prefixes = normalise_prefixes(config.prefixes)
    min_age_days = config.effective_min_age_days
    cutoff = now - timedelta(days=min_age_days)
    s3 = clients.s3
    versioning = bucket_versioning(s3, bucket)
    sources = build_sources(
        config, clients, options.skip_where, options.scan_segments, options.scan_page_size
    )
    snapshot = collect_references(
        sources, bucket, clients.s3_endpoint_hosts(), options.allow_empty_registry, config.access_points
    )
    refs = snapshot.refs
    # A bad history refuses even with --accept-registry-shrink: that flag accepts a shrink, not a blind run.
    reason, last_run = check_shrink(s3, bucket, snapshot.baselines(), prefixes, options.max_registry_shrink)
    if reason and not options.accept_registry_shrink:
        raise SafetyError(reason)
    # the GC's own state under the control prefix is never a candidate
    keep = KeepRules((*options.keep_globs, CONTROL_PREFIX + "*"))
    stats = MarkStats()

    def plan_header(inventory: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "tool_version": __version__,
            "created_at": isoformat(now),
            "bucket": bucket,
            "region": config.region or clients.s3.meta.region_name,
            "account": clients.account_id(),
            "versioning": versioning,
            "scope": {
                "prefixes": list(prefixes),
                "min_age_days": min_age_days,
                "cutoff": isoformat(cutoff),
                "keep": list(options.keep_globs),
            },
            "registry": snapshot.header(sources)
            | {"last_run": last_run, "shrink_accepted": bool(reason and options.accept_registry_shrink)},
            "totals": totals(stats),
        } | ({"object_source": {"inventory": inventory}} if inventory else {"object_source": "list"})

    if config.inventory:
        from artifact_gc.collect.inventory_mark import InventoryMark, plan_from_inventory

        job = InventoryMark(
            config.inventory,
            s3,
            bucket,
            now,
            options.max_inventory_age_seconds,
            refs,
            cutoff,
            prefixes,
            keep.globs,
            versioning != "Disabled",
        )
        if options.engine == "spark":
            from artifact_gc.collect.spark_mark import plan_on_spark

            header = plan_on_spark(
                job,
                stats,
                options.out_uri or str(options.out),
                plan_header,
                options.spark_master,
                dict(options.spark_conf),
            )
        else:
            header = plan_from_inventory(job, stats, options.out, plan_header)
    elif options.list_concurrency > 1:
        with PlanWriter(options.out) as writer:
            for prefix in prefixes:
                _list_prefix_in_parallel(
                    s3,
                    bucket,
                    prefix,
                    versioning != "Disabled",
                    options.list_concurrency,
                    refs,
                    cutoff,
                    keep,
                    stats,
                    writer,
                    on_page,
                )
            header = plan_header()
            writer.finish(header)
    else:
        with PlanWriter(options.out) as writer:
            for prefix in prefixes:
                for page in list_pages(s3, bucket, prefix, versioned=versioning != "Disabled"):
                    garbage = mark(page, refs, cutoff, keep, stats)
                    stats.note_candidates(prefix, garbage)
                    writer.write(garbage, prefix)
                    if on_page:
                        on_page(prefix, stats.objects, stats.bytes)
            header = plan_header()
            writer.finish(header)
    result = PlanResult(header=header, stats=stats, snapshot=snapshot)
    if refs.protects_whole_bucket:
        result.warnings.append(
            f"a registry reference names the whole bucket {bucket!r}: everything is protected, nothing can be collected"
        )
    if refs.other_buckets:
        result.warnings.append(
            f"{sum(refs.other_buckets.values())} references point to other buckets "
            f"({', '.join(refs.other_buckets)}): counted, not applied"
        )
    if snapshot.glob_widened:
        result.warnings.append(
            f"{snapshot.glob_widened} references hold a glob (* ? [ {{): each protects its literal key and everything "
            "under the text before the first glob character"
        )
    without = {name: c.rows_without_path for name, c in snapshot.sources.items() if c.rows_without_path}
    for name, rows in without.items():
        result.warnings.append(
            f"{rows} rows of {name} hold none of the path attributes {list(config.effective_path_attributes)}: "
            "they protect nothing (check --path-attribute)"
        )
    for prefix, siblings in sibling_folders(s3, bucket, prefixes).items():
        result.warnings.append(
            f"scope prefix {prefix!r} has no trailing slash, so it also reaches "
            + ", ".join(repr(s) for s in siblings[:5])
            + (f" and {len(siblings) - 5} more" if len(siblings) > 5 else "")
            + f": end it with '/' ({prefix + '/'!r}) to mean the folder only"
        )
    if stats.protected_non_folder:
        result.warnings.append(
            f"{stats.protected_non_folder} objects are kept only by a reference that matches mid-name "
            "(e.g. 'v1' keeping 'v10/'): end folder references with '/' in the registry to tighten"
        )
    result.refused = check_delete_limits(
        stats.candidates,
        stats.candidate_bytes,
        stats.objects,
        options.max_delete_fraction,
        options.max_delete_bytes,
    )
    return result


def _list_prefix_in_parallel(
    s3: Any,
    bucket: str,
    prefix: str,
    versioned: bool,
    workers: int,
    refs: Any,
    cutoff: datetime,
    keep: KeepRules,
    stats: MarkStats,
    writer: PlanWriter,
    on_page: ProgressHook | None,
) -> None:
    """Mark one scope prefix listed as disjoint parts at once; merge the parts' candidates in key order.

    Each part marks into its own counters and its own scratch file (pages of one part come from one
    thread), so nothing is shared between threads but the progress counter."""
    lock = threading.Lock()
    parts: dict[Listing, tuple[MarkStats, IO[str]]] = {}
    seen = [0, 0]
    scratch = tempfile.TemporaryDirectory(prefix="artifact-gc-list-")

    def handle(listing: Listing, objects: list[ObjectInfo]) -> None:
        if listing not in parts:
            with lock:
                parts[listing] = (
                    MarkStats(),
                    # closed in the finally below, once the parts are merged
                    tempfile.TemporaryFile("w+", encoding="utf-8", dir=scratch.name),  # noqa: SIM115
                )
        part_stats, body = parts[listing]
        garbage = mark(objects, refs, cutoff, keep, part_stats)
        part_stats.note_candidates(prefix, garbage)
        body.writelines(
            json.dumps(candidate_record(obj, prefix), ensure_ascii=False) + "\n" for obj in garbage
        )
        with lock:
            seen[0] += len(objects)
            seen[1] += sum(obj.size for obj in objects)
            if on_page:
                on_page(prefix, stats.objects + seen[0], stats.bytes + seen[1])

    with scratch:
        try:
            list_in_parallel(s3, bucket, prefix, versioned, workers, handle)
            streams = []
            for part_stats, body in parts.values():
                stats.merge(part_stats)
                body.seek(0)
                streams.append(body)
            writer.write_lines(heapq.merge(*streams, key=lambda line: json.loads(line)["key"]))
        finally:
            for _, body in parts.values():
                body.close()


def sibling_folders(s3: Any, bucket: str, prefixes: tuple[str, ...]) -> dict[str, list[str]]:
    """For each scope prefix without a trailing slash, what else it reaches besides its own folder
    (``models`` reaches ``models-prod/``): one delimited LIST page each, so the plan can say so."""
    found: dict[str, list[str]] = {}
    for prefix in prefixes:
        if not prefix or prefix.endswith("/"):
            continue
        try:
            page = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, Delimiter="/", MaxKeys=1000)
        except (ClientError, BotoCoreError) as exc:
            raise AwsError(f"listing s3://{bucket}/{prefix} failed: {aws_message(exc)}") from exc
        names = [p["Prefix"] for p in page.get("CommonPrefixes", ())] + [
            o["Key"] for o in page.get("Contents", ())
        ]
        others = sorted(n for n in names if n != prefix + "/" and n != prefix)
        if others:
            found[prefix] = others
    return found


def totals(stats: MarkStats) -> dict[str, Any]:
    return {
        "objects": stats.objects,
        "bytes": stats.bytes,
        "protected": stats.protected,
        "protected_bytes": stats.protected_bytes,
        "protected_non_folder": stats.protected_non_folder,
        "too_young": stats.too_young,
        "kept_by_glob": stats.kept_by_glob,
        "candidates": stats.candidates,
        "candidate_bytes": stats.candidate_bytes,
    }


def raise_if_refused(result: PlanResult) -> None:
    if result.refused:
        raise SafetyError(f"{result.refused} (plan written for review)")
