"""The ``artifact-gc`` command line: parse options, call the core, print. No decisions here.

Exit codes: 0 success; 1 runtime error (including per-object delete failures); 2 bad usage or bad input;
3 a safety interlock refused to proceed (nothing was deleted).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from artifact_gc import __version__
from artifact_gc.aws import AwsClients, AwsSettings, aws_message
from artifact_gc.collect import control
from artifact_gc.collect.apply import ApplyOptions, execute_apply, prepare_apply
from artifact_gc.collect.planfile import isoformat, iter_candidates, read_header
from artifact_gc.collect.planner import PlanOptions, raise_if_refused, run_plan
from artifact_gc.collect.quarantine import DEFAULT_TAG, parse_tag, remove_tags
from artifact_gc.collect.restore import check_markers, read_audit, remove_markers
from artifact_gc.config import GcConfig, parse_duration, resolve_config
from artifact_gc.cost.lifecycle import noncurrent_expiration_days
from artifact_gc.cost.lifecycle_lint import BucketFacts, lint
from artifact_gc.cost.prices import load_prices
from artifact_gc.errors import (
    EXIT_RUNTIME,
    EXIT_SAFETY,
    EXIT_USAGE,
    AwsError,
    GcError,
    SafetyError,
    UsageError,
)
from artifact_gc.gate.rules import evaluate, load_plan, load_policy
from artifact_gc.objects.listing import bucket_versioning
from artifact_gc.registry.sources import SkipRule
from artifact_gc.render.gate_summary import as_json, print_text, render_markdown
from artifact_gc.render.run_summary import apply_summary, human_bytes, plan_summary, print_apply, print_plan
from artifact_gc.render.storage_report import append_history, render_html
from artifact_gc.render.storage_report import print_text as print_report_text
from artifact_gc.render.storage_report import render_markdown as render_report_markdown
from artifact_gc.report.build import (
    lifecycle_from_bucket,
    lifecycle_from_document,
    lifecycle_from_file,
    lifecycle_from_tfvars,
    run_report,
)
from artifact_gc.terraform.outputs import load_saved_outputs, read_live_document, read_live_outputs

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 runtime error (AWS failure, or some objects could not be deleted); "
    "2 bad usage or bad input; 3 a safety interlock refused to proceed (nothing was deleted)."
)

app = typer.Typer(
    name="artifact-gc",
    help="Registry-aware garbage collection for ML artifact buckets on S3.\n\n" + EXIT_CODES_HELP,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
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
        "--registry-table", envvar="ARTIFACT_GC_REGISTRY_TABLE", help="DynamoDB registry table (repeatable)."
    ),
]
PathAttribute = Annotated[
    list[str] | None,
    typer.Option(
        "--path-attribute",
        envvar="ARTIFACT_GC_PATH_ATTRIBUTE",
        help="Registry attribute holding artifact locations (repeatable; default s3_path).",
    ),
]
Manifest = Annotated[
    list[str] | None,
    typer.Option(
        "--manifest",
        envvar="ARTIFACT_GC_MANIFEST",
        help="Manifest of referenced locations: local path or s3:// (JSON, YAML or one URI a line; repeatable).",
    ),
]
Prefix = Annotated[
    list[str] | None,
    typer.Option(
        "--prefix",
        envvar="ARTIFACT_GC_PREFIX",
        help="Key prefix the GC may touch (repeatable; default gc_config.gc_prefixes; '' = whole bucket).",
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
        envvar="ARTIFACT_GC_SKIP_WHERE",
        help="Registry rows whose string ATTRIBUTE equals VALUE protect nothing, e.g. status=deleted (repeatable; off by default).",
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
QuarantineTag = Annotated[
    str | None,
    typer.Option(
        "--quarantine-tag",
        envvar="ARTIFACT_GC_QUARANTINE_TAG",
        help="KEY=VALUE of the quarantine tag (default gc_config.quarantine_tag, else artifact-gc=condemned).",
    ),
]
AcceptShrink = Annotated[
    bool,
    typer.Option(
        "--accept-registry-shrink", help="Proceed although the registry shrank (after checking it)."
    ),
]


def _config(
    tf_dir: Path | None, tf_outputs: Path | None, terraform_bin: str, flags: dict[str, Any]
) -> GcConfig:
    if tf_dir and tf_outputs:
        raise UsageError("--tf-dir and --tf-outputs both given: choose one source of Terraform outputs")
    tf = None
    if tf_outputs:
        tf = load_saved_outputs(tf_outputs)
    elif tf_dir:
        tf = read_live_outputs(tf_dir, terraform_bin)
    return resolve_config(flags, tf)


T = TypeVar("T")


def _guarded(action: Callable[[], T]) -> T:
    """Turn expected failures into one line on stderr and their exit code; no traceback."""
    try:
        return action()
    except GcError as exc:
        err_console.print(
            f"[red]artifact-gc: {'refused' if exc.exit_code == EXIT_SAFETY else 'error'}:[/red] {exc}",
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
            f"[red]artifact-gc: error:[/red] AWS call failed: {aws_message(exc)}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_RUNTIME) from None
    except KeyboardInterrupt:
        err_console.print("[red]artifact-gc: interrupted[/red]")
        raise typer.Exit(130) from None


def _progress() -> Progress:
    """A spinner with a status line on stderr, shown only on a terminal (CI logs stay clean)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )


def _now() -> datetime:
    return datetime.now(timezone.utc)


# ------------------------------------------------------------------------------------------------- plan


@app.command(epilog=EXIT_CODES_HELP)
def plan(
    out: Annotated[Path, typer.Option("--out", "-o", help="Plan file to write (JSON Lines).")],
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
            envvar="ARTIFACT_GC_KEEP",
            help="Never collect keys matching this glob (repeatable; * also matches /).",
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
    tf_dir: TfDir = None,
    tf_outputs: TfOutputs = None,
    terraform_bin: TerraformBin = "terraform",
    profile: Profile = None,
    region: Region = None,
    endpoint_url: EndpointUrl = None,
    as_json: JsonOut = False,
) -> None:
    """Dry run: find unreferenced, old-enough objects and write them to a plan file. Modifies nothing."""

    def action() -> None:
        config = _config(
            tf_dir,
            tf_outputs,
            terraform_bin,
            {
                "bucket": bucket,
                "region": region,
                "registry_tables": registry_table,
                "path_attributes": path_attribute,
                "manifests": manifest,
                "prefixes": prefix,
                "min_age_days": min_age_days,
            },
        )
        options = PlanOptions(
            out=out,
            keep_globs=tuple(keep or ()),
            skip_where=tuple(SkipRule.parse(rule) for rule in skip_where or ()),
            scan_segments=scan_segments,
            scan_page_size=scan_page_size,
            allow_empty_registry=allow_empty_registry,
            max_registry_shrink=max_registry_shrink,
            accept_registry_shrink=accept_registry_shrink,
            max_delete_fraction=max_delete_fraction,
            max_delete_bytes=max_delete_bytes,
        )
        clients = AwsClients(AwsSettings(region=config.region, profile=profile, endpoint_url=endpoint_url))
        with _progress() as progress:
            task = progress.add_task("reading the registry", total=None)

            def on_page(scope: str, objects: int, size: int) -> None:
                progress.update(
                    task,
                    description=f"listing {scope or '(whole bucket)'}: {objects:,} objects, {human_bytes(size)}",
                )

            result = run_plan(config, options, clients, _now(), on_page)
        summary = plan_summary(result, str(out))
        if as_json:
            print(json.dumps(summary, indent=2, ensure_ascii=False))
        else:
            print_plan(out_console, summary)
        raise_if_refused(result)

    _guarded(action)


# ------------------------------------------------------------------------------------------------ apply


@app.command(epilog=EXIT_CODES_HELP)
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
    tf_dir: TfDir = None,
    tf_outputs: TfOutputs = None,
    terraform_bin: TerraformBin = "terraform",
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
        restated = _config(
            tf_dir,
            tf_outputs,
            terraform_bin,
            {
                "bucket": bucket,
                "region": region,
                "registry_tables": registry_table,
                "path_attributes": path_attribute,
                "manifests": manifest,
                "prefixes": prefix,
                "min_age_days": min_age_days,
            },
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
        )
        header = read_header(plan_file)
        clients = AwsClients(
            AwsSettings(
                region=restated.region or header.get("region"), profile=profile, endpoint_url=endpoint_url
            )
        )
        ttl = timedelta(seconds=parse_duration(lock_ttl, "--lock-ttl"))
        # One GC at a time: the lease is taken before any check, so two applies never interleave.
        lease = control.acquire(clients.s3, str(header.get("bucket")), ttl, _now(), f"apply {plan_file.name}")
        try:
            failed = _apply_under_lease(plan_file, restated, options, clients, lease, ttl, yes, as_json)
        finally:
            control.release(clients.s3, lease, _now())
        if failed:
            raise typer.Exit(EXIT_RUNTIME)

    _guarded(action)


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
    prepared = prepare_apply(plan_file, restated, options, clients, _now())
    bucket_name = prepared.header["bucket"]
    if prepared.newly_protected:
        err_console.print(
            f"{len(prepared.newly_protected):,} candidates are referenced again in the registry and will be kept."
        )
    if prepared.to_delete == 0:
        err_console.print("Nothing to delete.")
    if prepared.versioned:
        how = (
            "permanently delete every version of"
            if options.purge_versions
            else "add a delete marker (recoverable) to"
        )
    else:
        how = "permanently delete (bucket not versioned: this cannot be undone)"
    question = f"{how.capitalize()} {prepared.to_delete:,} objects ({human_bytes(prepared.to_delete_bytes)}) in s3://{bucket_name}?"
    if prepared.to_delete and not yes:
        if not sys.stdin.isatty():
            raise UsageError("not on a terminal: pass --yes to apply without confirmation")
        if not typer.confirm(question, default=False, err=True):
            raise SafetyError("not confirmed: nothing was deleted")
    elif prepared.to_delete:
        err_console.print(question.rstrip("?") + ": confirmed by --yes")

    def keep_lease() -> None:
        if lease.expires_at - _now() < ttl / 2:
            control.renew(clients.s3, lease, ttl, _now())

    with _progress() as progress:
        task = progress.add_task("deleting", total=None)
        result = execute_apply(
            prepared,
            clients,
            options,
            before_batch=keep_lease,
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
    if not result.failed:
        control.record_run(
            clients.s3,
            bucket_name,
            {
                "time": isoformat(_now()),
                "references": prepared.snapshot.refs.reference_count,
                "fingerprint": prepared.snapshot.refs.fingerprint,
                "plan_created_at": prepared.header.get("created_at"),
                "deleted": result.deleted,
            },
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


@app.command("tf-gate", epilog=EXIT_CODES_HELP)
def tf_gate(
    plan_json: Annotated[
        Path, typer.Argument(metavar="PLAN_JSON", help="Output of `terraform show -json tfplan`.")
    ],
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Gate policy (YAML): floors, prefixes, rule severities.")
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="text, markdown or json.")] = "text",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the summary here instead of stdout.")
    ] = None,
) -> None:
    """Refuse a Terraform plan that would endanger the artifacts (exit 3 on errors; warnings pass)."""

    def action() -> None:
        if output_format not in ("text", "markdown", "json"):
            raise UsageError(f"--format {output_format!r}: choose text, markdown or json")
        try:
            plan_text = plan_json.read_text(encoding="utf-8")
            policy_text = policy.read_text(encoding="utf-8") if policy else None
        except OSError as exc:
            raise UsageError(f"cannot read {exc.filename}: {exc.strerror}") from exc
        plan = load_plan(plan_text, str(plan_json))
        rules = load_policy(policy_text, f"--policy {policy}" if policy else "default policy")
        result = evaluate(plan, rules)
        policy_name = str(policy) if policy else "built-in defaults"
        if output_format == "markdown":
            rendered = render_markdown(result, plan_json.name, policy_name)
        elif output_format == "json":
            rendered = json.dumps(as_json(result, plan_json.name), indent=2, ensure_ascii=False)
        else:
            rendered = None
        if rendered is None:
            print_text(out_console, result, plan_json.name)
        elif out:
            out.write_text(rendered + "\n", encoding="utf-8")
        else:
            print(rendered)
        if not result.passed:
            raise SafetyError(f"{len(result.errors)} gate errors: the plan must not be applied")

    _guarded(action)


@app.command(epilog=EXIT_CODES_HELP)
def report(
    bucket: Bucket = None,
    prefix: Annotated[
        list[str] | None,
        typer.Option("--prefix", help="Only these key prefixes (repeatable; default: the whole bucket)."),
    ] = None,
    depth: Annotated[int, typer.Option("--depth", help="Group keys by their first N folders.")] = 1,
    prices_file: Annotated[
        Path | None, typer.Option("--prices", help="Price table (JSON, same shape as the packaged one).")
    ] = None,
    proposed: Annotated[
        Path | None,
        typer.Option(
            "--proposed", help='Proposed lifecycle: {"Rules": ...} or saved `terraform output -json`.'
        ),
    ] = None,
    proposed_tfvars: Annotated[
        Path | None,
        typer.Option(
            "--proposed-tfvars", help="Proposed lifecycle from an environment's tfvars (evaluated offline)."
        ),
    ] = None,
    preview_dir: Annotated[
        Path,
        typer.Option("--preview-dir", help="The provider-less lifecycle-preview root for --proposed-tfvars."),
    ] = Path("terraform/lifecycle-preview"),
    plan_file: Annotated[
        Path | None, typer.Option("--plan", help="A GC plan: scenario (d) deletes its candidates.")
    ] = None,
    growth: Annotated[
        float, typer.Option("--growth-gb-per-month", help="New data per month in the projection.")
    ] = 0.0,
    output_format: Annotated[str, typer.Option("--format", help="text, json, markdown or html.")] = "text",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the report here instead of stdout.")
    ] = None,
    history: Annotated[
        Path,
        typer.Option(
            "--history",
            envvar="ARTIFACT_GC_HISTORY",
            help="History file: one line per run, charted as a trend.",
        ),
    ] = Path(".artifact-gc/report-history.jsonl"),
    no_history: Annotated[
        bool, typer.Option("--no-history", help="Neither read nor append the history file.")
    ] = False,
    tf_dir: TfDir = None,
    tf_outputs: TfOutputs = None,
    terraform_bin: TerraformBin = "terraform",
    profile: Profile = None,
    region: Region = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Storage and cost by prefix and storage class, and a 12-month projection under lifecycle scenarios."""

    def action() -> None:
        if output_format not in ("text", "json", "markdown", "html"):
            raise UsageError(f"--format {output_format!r}: choose text, json, markdown or html")
        if proposed and proposed_tfvars:
            raise UsageError("--proposed and --proposed-tfvars both given: choose one proposed lifecycle")
        config = _config(tf_dir, tf_outputs, terraform_bin, {"bucket": bucket, "region": region})
        if not config.bucket:
            raise UsageError("no bucket: give --bucket, ARTIFACT_GC_BUCKET, or --tf-dir/--tf-outputs")
        clients = AwsClients(AwsSettings(region=config.region, profile=profile, endpoint_url=endpoint_url))
        prices = load_prices(config.region or clients.s3.meta.region_name or "us-east-1", prices_file)
        proposal = (
            lifecycle_from_file(proposed)
            if proposed
            else lifecycle_from_tfvars(proposed_tfvars, preview_dir)
            if proposed_tfvars
            else None
        )
        with _progress() as progress:
            progress.add_task(f"listing s3://{config.bucket}", total=None)
            result = run_report(
                clients,
                config.bucket,
                tuple(prefix or ("",)),
                depth,
                prices,
                _now(),
                proposal,
                plan_file,
                growth,
            )
        runs = [] if no_history else append_history(history, result)
        if output_format == "text":
            print_report_text(out_console, result)
            return
        rendered = (
            json.dumps(result, indent=2, ensure_ascii=False)
            if output_format == "json"
            else render_report_markdown(result)
            if output_format == "markdown"
            else render_html(result, runs)
        )
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(rendered, encoding="utf-8")
            err_console.print(f"wrote {out}")
        else:
            print(rendered)

    _guarded(action)


@app.command("lint-policy", epilog=EXIT_CODES_HELP)
def lint_policy(
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help='Lifecycle configuration: {"Rules": ...} or saved `terraform output -json`.'
        ),
    ] = None,
    tfvars: Annotated[
        Path | None,
        typer.Option(
            "--tfvars", help="An environment's tfvars, evaluated with the lifecycle-policy module offline."
        ),
    ] = None,
    preview_dir: Annotated[
        Path, typer.Option("--preview-dir", help="The provider-less lifecycle-preview root for --tfvars.")
    ] = Path("terraform/lifecycle-preview"),
    bucket: Bucket = None,
    versioned: Annotated[
        bool | None,
        typer.Option(
            "--versioned/--not-versioned",
            help="Whether the bucket is versioned (read from S3 with --bucket).",
        ),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    tf_dir: TfDir = None,
    tf_outputs: TfOutputs = None,
    terraform_bin: TerraformBin = "terraform",
    profile: Profile = None,
    region: Region = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Lint a lifecycle configuration: what S3 would reject (errors: exit 3) and what bills badly (warnings).

    Reads it from exactly one of: --file, --tfvars, --tf-dir/--tf-outputs (output lifecycle_configuration),
    or the live --bucket.
    """

    def action() -> None:
        sources = [s for s in (file, tfvars, tf_dir or tf_outputs, bucket) if s]
        if len(sources) != 1:
            raise UsageError("give exactly one of --file, --tfvars, --tf-dir/--tf-outputs or --bucket")
        facts_versioned = versioned
        if file:
            document = lifecycle_from_file(file)
        elif tfvars or tf_outputs or tf_dir:
            if tfvars:
                document = lifecycle_from_tfvars(tfvars, preview_dir)
            elif tf_outputs:
                document = lifecycle_from_file(tf_outputs)
            else:
                live = read_live_document(tf_dir, terraform_bin)
                document = lifecycle_from_document(live, f"terraform outputs in {tf_dir}")
            # buckets built by the artifact-bucket module are always versioned
            facts_versioned = True if versioned is None else versioned
        else:
            clients = AwsClients(AwsSettings(region=region, profile=profile, endpoint_url=endpoint_url))
            document = lifecycle_from_bucket(clients.s3, bucket)
            facts_versioned = bucket_versioning(clients.s3, bucket) != "Disabled"
        findings = lint(
            document.configuration,
            BucketFacts(
                versioned=facts_versioned, transition_default_minimum_object_size=document.minimum_object_size
            ),
        )
        errors = [f for f in findings if f.severity == "error"]
        if output_format == "json":
            print(
                json.dumps(
                    {
                        "source": document.origin,
                        "errors": len(errors),
                        "findings": [dataclasses.asdict(f) for f in findings],
                    },
                    indent=2,
                )
            )
        elif output_format == "text":
            out_console.print(
                f"lint-policy {document.origin}: {len(document.configuration['Rules'])} rules, "
                f"{len(errors)} errors, {len(findings) - len(errors)} other findings"
            )
            for f in findings:
                color = {"error": "red", "warning": "yellow"}.get(f.severity, "dim")
                out_console.print(
                    f"  [{color}]{f.severity}[/{color}] {f.rule_id}: {f.message} [dim]({f.check})[/dim]"
                )
        else:
            raise UsageError(f"--format {output_format!r}: choose text or json")
        if errors:
            raise SafetyError(f"{len(errors)} lifecycle errors: S3 would reject this configuration")

    _guarded(action)


@app.command(epilog=EXIT_CODES_HELP)
def restore(
    audit_log: Annotated[
        Path, typer.Argument(metavar="AUDIT_LOG", help="Audit log written by `artifact-gc apply`.")
    ],
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Do not ask for confirmation (required when not on a terminal)."),
    ] = False,
    lock_ttl: LockTtl = "1h",
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
        clients = AwsClients(AwsSettings(region=region, profile=profile, endpoint_url=endpoint_url))
        ttl = timedelta(seconds=parse_duration(lock_ttl, "--lock-ttl"))
        lease = control.acquire(clients.s3, plan.bucket, ttl, _now(), f"restore {audit_log.name}")
        try:
            markers = check_markers(clients.s3, plan.bucket, plan.markers)
            gone = len(plan.markers) - len(markers)
            question = (
                f"Remove {len(markers):,} delete markers in s3://{plan.bucket}, restoring those objects?"
            )
            if markers and not yes:
                if not sys.stdin.isatty():
                    raise UsageError("not on a terminal: pass --yes to restore without confirmation")
                if not typer.confirm(question, default=False, err=True):
                    raise SafetyError("not confirmed: nothing was restored")
            result = remove_markers(clients.s3, plan.bucket, markers)
        finally:
            control.release(clients.s3, lease, _now())
        out_console.print(
            f"Restored {len(result.restored):,} objects in s3://{plan.bucket}"
            + (
                f"; {gone + len(result.already):,} markers were already gone (restored before?)"
                if gone or result.already
                else ""
            )
        )
        for key, reason in result.failed:
            out_console.print(f"  [red]failed[/red] {key}: {reason}")
        if plan.permanent:
            out_console.print(
                f"  {len(plan.permanent):,} deletions were permanent and cannot be restored: "
                + ", ".join(plan.permanent[:5])
                + (" ..." if len(plan.permanent) > 5 else "")
            )
        if result.failed or plan.permanent:
            raise typer.Exit(EXIT_RUNTIME)

    _guarded(action)


@app.command(epilog=EXIT_CODES_HELP)
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
    tf_dir: TfDir = None,
    tf_outputs: TfOutputs = None,
    terraform_bin: TerraformBin = "terraform",
    profile: Profile = None,
    region: Region = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Remove the quarantine tag (and its date tag) from objects, by key, prefix or plan."""

    def action() -> None:
        if not (key or prefix or plan_file):
            raise UsageError("say what to rescue: --key, --prefix or --plan")
        config = _config(tf_dir, tf_outputs, terraform_bin, {"bucket": bucket, "region": region})
        keys = list(key or [])
        bucket_name = config.bucket
        if plan_file:
            header = read_header(plan_file)
            if bucket_name and bucket_name != header.get("bucket"):
                raise UsageError(
                    f"--plan {plan_file} is for bucket {header.get('bucket')!r}, not {bucket_name!r}"
                )
            bucket_name = header.get("bucket")
            keys += [c.obj.key for c in iter_candidates(plan_file)]
        if not bucket_name:
            raise UsageError("no bucket: give --bucket, --plan, or --tf-dir/--tf-outputs")
        tag = _quarantine_tag(quarantine_tag, config)
        clients = AwsClients(AwsSettings(region=config.region, profile=profile, endpoint_url=endpoint_url))
        for each in prefix or []:
            pages = clients.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket_name, Prefix=each)
            keys += [o["Key"] for page in pages for o in page.get("Contents", ())]
        ttl = timedelta(seconds=parse_duration(lock_ttl, "--lock-ttl"))
        lease = control.acquire(clients.s3, bucket_name, ttl, _now(), "rescue")
        try:
            rescued = [k for k in dict.fromkeys(keys) if remove_tags(clients.s3, bucket_name, k, tag)]
        finally:
            control.release(clients.s3, lease, _now())
        out_console.print(
            f"Rescued {len(rescued):,} objects in s3://{bucket_name} (removed {tag[0]}={tag[1]}); "
            f"{len(set(keys)) - len(rescued):,} others carried no quarantine tag"
        )

    _guarded(action)


@app.command()
def version() -> None:
    """Print the version."""
    print(__version__)


def main() -> None:
    try:
        app()
    except SystemExit as exc:
        if exc.code not in (0, None) and not isinstance(exc.code, int):
            sys.exit(EXIT_USAGE)
        raise
