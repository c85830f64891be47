"""`artifact-gc apply`, `restore` and `rescue`: the commands that change the bucket."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from artifact_gc.aws import AwsClients, AwsSettings
from artifact_gc.cli.options import (
    AcceptShrink,
    AccessPoint,
    AllowEmpty,
    Bucket,
    Concurrency,
    EndpointUrl,
    JsonOut,
    LockTtl,
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
    QuarantineTag,
    Region,
    RegistryQuery,
    RegistrySql,
    RegistryTable,
    SageMaker,
    ScanPageSize,
    ScanSegments,
    TerraformBin,
    TerraformTimeout,
    TfDir,
    TfOutputs,
    collection_flags,
    err_console,
    guarded,
    load_config,
    now,
    out_console,
    progress_bar,
)
from artifact_gc.collect import control
from artifact_gc.collect.apply import ApplyOptions, execute_apply, prepare_apply
from artifact_gc.collect.planfile import iter_candidate_keys, read_header
from artifact_gc.collect.quarantine import DEFAULT_TAG, parse_tag, rescue_keys
from artifact_gc.collect.restore import check_markers, read_audit, remove_markers, still_deleted
from artifact_gc.config import GcConfig, parse_duration
from artifact_gc.cost.lifecycle import noncurrent_expiration_days
from artifact_gc.errors import (
    EXIT_RUNTIME,
    EXIT_USAGE,
    AwsError,
    SafetyError,
    UsageError,
)
from artifact_gc.render.run_summary import apply_question, apply_summary, escape_key, print_apply
from artifact_gc.report.build import (
    lifecycle_from_bucket,
)
from artifact_gc.terraform.runner import DEFAULT_TIMEOUT


def apply(
    plan_file: Annotated[
        Path, typer.Argument(metavar="PLAN", help="Plan file written by `artifact-gc plan`.")
    ],
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Do not ask for confirmation (required when not on a terminal)."),
    ] = False,
    audit: Annotated[
        Path | None,
        typer.Option(
            "--audit",
            envvar="ARTIFACT_GC_AUDIT",
            help="Audit log (JSON Lines, appended). Default: PLAN.audit.jsonl.",
        ),
    ] = None,
    purge_versions: Annotated[
        bool,
        typer.Option(
            "--purge-versions",
            help="On a versioned bucket, permanently delete every version of each candidate (not recoverable).",
        ),
    ] = False,
    max_plan_age: Annotated[
        str,
        typer.Option(
            "--max-plan-age",
            envvar="ARTIFACT_GC_MAX_PLAN_AGE",
            help="Refuse plans older than this (e.g. 30m, 24h, 2d).",
        ),
    ] = "24h",
    lock_ttl: LockTtl = "1h",
    registry_refresh: Annotated[
        str,
        typer.Option(
            "--registry-refresh",
            envvar="ARTIFACT_GC_REGISTRY_REFRESH",
            help="Re-read the registry before the next batch once this long has passed since the last read (0s: before every batch).",
        ),
    ] = "5m",
    mode: Annotated[
        str,
        typer.Option(
            "--mode", help="delete, or quarantine: tag for the bucket's quarantine lifecycle rule instead."
        ),
    ] = "delete",
    quarantine_tag: QuarantineTag = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Keys per DeleteObjects request (1-1000).")
    ] = 1000,
    concurrency: Concurrency = 4,
    bucket: Bucket = None,
    registry_table: RegistryTable = None,
    path_attribute: PathAttribute = None,
    manifest: Manifest = None,
    prefix: Prefix = None,
    min_age_days: MinAge = None,
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
) -> None:
    """Delete what PLAN lists, after re-reading the registry and re-checking every object.

    The bucket, registry sources and scope come from the plan; any that you restate (flags, environment,
    Terraform outputs) must agree with it, or apply refuses.
    """

    def action() -> None:
        restated = load_config(
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
            ),
            terraform_timeout,
        )
        audit_path = audit or plan_file.with_name(plan_file.name + ".audit.jsonl")
        options = ApplyOptions(
            audit_path=audit_path,
            max_plan_age_seconds=parse_duration(max_plan_age, "--max-plan-age"),
            max_delete_fraction=max_delete_fraction,
            max_delete_bytes=max_delete_bytes,
            allow_empty_registry=allow_empty_registry,
            max_registry_shrink=max_registry_shrink,
            accept_registry_shrink=accept_registry_shrink,
            purge_versions=purge_versions,
            mode=mode,
            quarantine_tag=_quarantine_tag(quarantine_tag, restated),
            scan_segments=scan_segments,
            scan_page_size=scan_page_size,
            batch_size=batch_size,
            registry_refresh_seconds=parse_duration(registry_refresh, "--registry-refresh"),
            concurrency=concurrency,
        )
        header = read_header(plan_file)
        clients = _clients_for(concurrency, restated.region or header.get("region"), profile, endpoint_url)
        ttl = timedelta(seconds=parse_duration(lock_ttl, "--lock-ttl"))
        # One GC at a time: the lease is taken before any check, so two applies never interleave.
        lease = control.acquire(clients.s3, str(header.get("bucket")), ttl, now(), f"apply {plan_file.name}")
        try:
            failed = _apply_under_lease(plan_file, restated, options, clients, lease, ttl, yes, as_json)
        finally:
            control.release(clients.s3, lease, now())
        if failed:
            raise typer.Exit(EXIT_RUNTIME)

    guarded(action)


def _apply_under_lease(
    plan_file: Path,
    restated: GcConfig,
    options: ApplyOptions,
    clients: AwsClients,
    lease: control.Lease,
    ttl: timedelta,
    yes: bool,
    as_json: bool,
) -> bool:
    """Check, confirm, delete, report; record the run in the registry history. True if some deletes failed."""
    prepared = prepare_apply(plan_file, restated, options, clients, now())
    bucket_name = prepared.header["bucket"]
    if prepared.newly_protected:
        err_console.print(
            f"{len(prepared.newly_protected):,} candidates are referenced again in the registry and will be kept."
        )
    if prepared.to_delete == 0:
        err_console.print("Nothing to delete.")
    question = apply_question(prepared, options.mode, options.purge_versions, options.quarantine_tag)
    if prepared.to_delete and not yes:
        if not sys.stdin.isatty():
            raise UsageError("not on a terminal: pass --yes to apply without confirmation")
        if not typer.confirm(question, default=False, err=True):
            raise SafetyError(
                "not confirmed: nothing was " + ("tagged" if options.mode == "quarantine" else "deleted")
            )
    elif prepared.to_delete:
        err_console.print(f"{question} Confirmed by --yes.", highlight=False)

    with progress_bar() as progress:
        task = progress.add_task("deleting", total=None)
        result = execute_apply(
            prepared,
            clients,
            options,
            before_batch=lease_keeper(clients.s3, lease, ttl),
            on_batch=lambda r: progress.update(task, description=f"deleted {r.deleted:,}"),
        )
    if result.quarantined:
        out_console.print(
            f"Quarantined {result.quarantined:,} objects (tag {options.quarantine_tag[0]}={options.quarantine_tag[1]}); "
            + _quarantine_note(clients, bucket_name, options.quarantine_tag)
        )
    if result.rescued:
        out_console.print(
            f"Rescued {len(result.rescued):,} quarantined objects the registry references again: "
            + ", ".join(result.rescued[:5])
            + (" ..." if len(result.rescued) > 5 else "")
        )
    summary = apply_summary(prepared, result, str(options.audit_path))
    if prepared.versioned and not options.purge_versions and result.delete_markers:
        summary["space_freed"] = _space_freed_note(clients, bucket_name, prepared.header["scope"]["prefixes"])
    if as_json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print_apply(out_console, summary)
        if "space_freed" in summary:
            out_console.print(f"  {summary['space_freed']}")
    return bool(result.failed)


def _quarantine_tag(flag: str | None, config: GcConfig) -> tuple[str, str]:
    if flag:
        return parse_tag(flag)
    return config.quarantine_tag or DEFAULT_TAG


def _quarantine_note(clients: AwsClients, bucket: str, tag: tuple[str, str]) -> str:
    """When S3 will act on the tag: lifecycle expiration counts from creation, not from the tagging."""
    try:
        rules = lifecycle_from_bucket(clients.s3, bucket).configuration["Rules"]
    except AwsError as exc:
        return f"{exc}: the bucket's quarantine rule, if any, expires them"
    days = [
        r.get("Expiration", {}).get("Days")
        for r in rules
        if r.get("Status") == "Enabled"
        and (r.get("Filter") or {}).get("Tag") == {"Key": tag[0], "Value": tag[1]}
    ]
    if not days or days[0] is None:
        return "no lifecycle rule expires objects with this tag: they stay until deleted or rescued"
    return (
        f"the quarantine rule expires them {days[0]} days after creation, so those already older go at S3's next "
        "lifecycle run (about a day); `artifact-gc rescue` removes the tag until then"
    )


def _space_freed_note(clients: AwsClients, bucket: str, prefixes: list[str]) -> str:
    try:
        rules = lifecycle_from_bucket(clients.s3, bucket).configuration["Rules"]
    except AwsError as exc:
        return f"{exc}: space is freed when noncurrent versions expire"
    days = noncurrent_expiration_days(rules, prefixes)
    if days is None:
        return (
            "no lifecycle rule expires noncurrent versions in this scope: the old versions keep their bytes until "
            "deleted (add NoncurrentVersionExpiration, or apply with --purge-versions)"
        )
    return (
        f"the space is freed when the lifecycle expires the noncurrent versions, about {days} days from now"
    )


def lease_keeper(s3: Any, lease: control.Lease, ttl: timedelta) -> Callable[[], None]:
    """What a long command runs between batches or rounds of calls: renew the GC lease once half its
    time is gone (SafetyError, stopping the command, if another run took it over meanwhile)."""

    def keep_lease() -> None:
        if lease.expires_at - now() < ttl / 2:
            control.renew(s3, lease, ttl, now())

    return keep_lease


def _clients_for(
    concurrency: int, region: str | None, profile: str | None, endpoint_url: str | None
) -> AwsClients:
    """Clients for a command making ``concurrency`` requests at once (adaptive retries above one)."""
    retry_mode = "adaptive" if concurrency > 1 else "standard"
    return AwsClients(
        AwsSettings(region=region, profile=profile, endpoint_url=endpoint_url, retry_mode=retry_mode)
    )


def restore(
    audit_log: Annotated[
        Path, typer.Argument(metavar="AUDIT_LOG", help="Audit log written by `artifact-gc apply`.")
    ],
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Do not ask for confirmation (required when not on a terminal)."),
    ] = False,
    lock_ttl: LockTtl = "1h",
    concurrency: Concurrency = 4,
    profile: Profile = None,
    region: Region = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Undo an apply on a versioned bucket: remove exactly the delete markers it created.

    Deletions that were permanent (unversioned bucket, --purge-versions) cannot be restored: restore says
    so and exits 2 when nothing at all can be restored, 1 when only part could.
    """

    def action() -> None:
        plan = read_audit(audit_log)
        if not plan.markers:
            raise UsageError(
                f"nothing can be restored: the {len(plan.permanent)} deletions in {audit_log} were permanent "
                "(the bucket is not versioned, or they were purged with --purge-versions)"
            )
        clients = _clients_for(concurrency, region, profile, endpoint_url)
        ttl = timedelta(seconds=parse_duration(lock_ttl, "--lock-ttl"))
        lease = control.acquire(clients.s3, plan.bucket, ttl, now(), f"restore {audit_log.name}")
        keep_lease = lease_keeper(clients.s3, lease, ttl)
        try:
            markers, unverified, gone = check_markers(
                clients.s3, plan.bucket, plan.markers, concurrency, keep_lease
            )
            question = (
                f"Remove {len(markers):,} delete markers in s3://{plan.bucket}, restoring those objects?"
            )
            if markers and not yes:
                if not sys.stdin.isatty():
                    raise UsageError("not on a terminal: pass --yes to restore without confirmation")
                if not typer.confirm(question, default=False, err=True):
                    raise SafetyError("not confirmed: nothing was restored")
            result = remove_markers(clients.s3, plan.bucket, markers, concurrency, keep_lease)
            # Say "restored" only of objects that are back: a key with another delete marker is not.
            back_or_not = result.restored + result.already + gone
            missing = dict(still_deleted(clients.s3, plan.bucket, back_or_not, concurrency, keep_lease))
        finally:
            control.release(clients.s3, lease, now())
        back = [k for k in dict.fromkeys(result.restored) if k not in missing]
        earlier = [k for k in dict.fromkeys(result.already + gone) if k not in missing]
        out_console.print(
            f"Restored {len(back):,} objects in s3://{plan.bucket}"
            + (f"; {len(earlier):,} were already back (restored before?)" if earlier else "")
        )
        problems = [*result.failed, *unverified, *missing.items()]
        for key, reason in problems:
            out_console.print(f"  [red]not restored[/red] {escape_key(key)}: {reason}", highlight=False)
        if plan.permanent:
            out_console.print(
                f"  {len(plan.permanent):,} deletions were permanent and cannot be restored: "
                + ", ".join(escape_key(k) for k in plan.permanent[:5])
                + (" ..." if len(plan.permanent) > 5 else ""),
                highlight=False,
            )
        if problems or plan.permanent:
            raise typer.Exit(EXIT_RUNTIME)

    guarded(action)


def rescue(
    key: Annotated[list[str] | None, typer.Option("--key", help="Rescue this key (repeatable).")] = None,
    prefix: Annotated[
        list[str] | None,
        typer.Option("--prefix", help="Rescue every quarantined object under this prefix (repeatable)."),
    ] = None,
    plan_file: Annotated[
        Path | None, typer.Option("--plan", help="Rescue the candidates of this plan.")
    ] = None,
    bucket: Bucket = None,
    quarantine_tag: QuarantineTag = None,
    lock_ttl: LockTtl = "1h",
    concurrency: Concurrency = 4,
    tf_dir: TfDir = None,
    tf_outputs: TfOutputs = None,
    terraform_bin: TerraformBin = "terraform",
    terraform_timeout: TerraformTimeout = DEFAULT_TIMEOUT,
    profile: Profile = None,
    region: Region = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Remove the quarantine tag (and its date tag) from objects, by key, prefix or plan."""

    def action() -> None:
        if not (key or prefix or plan_file):
            raise UsageError("say what to rescue: --key, --prefix or --plan")
        config = load_config(
            tf_dir, tf_outputs, terraform_bin, {"bucket": bucket, "region": region}, terraform_timeout
        )
        keys = list(key or [])
        bucket_name = config.bucket
        if plan_file:
            header = read_header(plan_file)
            if bucket_name and bucket_name != header.get("bucket"):
                raise UsageError(
                    f"--plan {plan_file} is for bucket {header.get('bucket')!r}, not {bucket_name!r}"
                )
            bucket_name = header.get("bucket")
            keys += iter_candidate_keys(plan_file)
        if not bucket_name:
            raise UsageError("no bucket: give --bucket, --plan, or --tf-dir/--tf-outputs")
        tag = _quarantine_tag(quarantine_tag, config)
        clients = _clients_for(concurrency, config.region, profile, endpoint_url)
        for each in prefix or []:
            pages = clients.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket_name, Prefix=each)
            keys += [o["Key"] for page in pages for o in page.get("Contents", ())]
        ttl = timedelta(seconds=parse_duration(lock_ttl, "--lock-ttl"))
        lease = control.acquire(clients.s3, bucket_name, ttl, now(), "rescue")
        try:
            rescued, untagged, missing = rescue_keys(
                clients.s3, bucket_name, keys, tag, concurrency, lease_keeper(clients.s3, lease, ttl)
            )
        finally:
            control.release(clients.s3, lease, now())
        out_console.print(
            f"Rescued {len(rescued):,} objects in s3://{bucket_name} (removed {tag[0]}={tag[1]})"
            + (f"; {len(untagged):,} others carried no quarantine tag" if untagged else ""),
            highlight=False,
        )
        if missing:
            out_console.print(
                f"  {len(missing):,} keys are not in s3://{bucket_name} (already expired or deleted, or mistyped): "
                + ", ".join(escape_key(k) for k in missing[:5])
                + (" ..." if len(missing) > 5 else ""),
                highlight=False,
            )
            if key and set(key) <= set(missing):
                raise typer.Exit(EXIT_USAGE)

    guarded(action)


def reset_registry_history(
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Do not ask for confirmation (required when not on a terminal)."),
    ] = False,
    bucket: Bucket = None,
    lock_ttl: LockTtl = "1h",
    tf_dir: TfDir = None,
    tf_outputs: TfOutputs = None,
    terraform_bin: TerraformBin = "terraform",
    terraform_timeout: TerraformTimeout = DEFAULT_TIMEOUT,
    profile: Profile = None,
    region: Region = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Reset the registry-shrink history after checking the registry by hand (the next run sets a new baseline).

    Plan and apply refuse (exit 3) while the history under .artifact-gc/ is unreadable or malformed: the
    shrink interlock cannot compare without it. This overwrites every history object with an empty one.
    """

    def action() -> None:
        config = load_config(
            tf_dir, tf_outputs, terraform_bin, {"bucket": bucket, "region": region}, terraform_timeout
        )
        if not config.bucket:
            raise UsageError("no bucket: give --bucket, ARTIFACT_GC_BUCKET, or --tf-dir/--tf-outputs")
        question = (
            f"Reset the registry history of s3://{config.bucket}? The next run will have no baseline to "
            "compare the registry with: check the registry first."
        )
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError("not on a terminal: pass --yes to reset without confirmation")
            if not typer.confirm(question, default=False, err=True):
                raise SafetyError("not confirmed: the history was left as it is")
        clients = AwsClients(AwsSettings(region=config.region, profile=profile, endpoint_url=endpoint_url))
        ttl = timedelta(seconds=parse_duration(lock_ttl, "--lock-ttl"))
        lease = control.acquire(clients.s3, config.bucket, ttl, now(), "reset-registry-history")
        try:
            keys = control.reset_history(clients.s3, config.bucket, now(), lease.holder)
        finally:
            control.release(clients.s3, lease, now())
        out_console.print(
            f"Reset {len(keys)} registry-history objects in s3://{config.bucket}"
            + (": " + ", ".join(keys) if keys else " (there were none)"),
            highlight=False,
        )

    guarded(action)
