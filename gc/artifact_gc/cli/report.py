"""`artifact-gc report` and `lint-policy`: storage, cost and lifecycle checks."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer

from artifact_gc.aws import AwsClients, AwsSettings
from artifact_gc.cli.options import (
    Bucket,
    EndpointUrl,
    Profile,
    Region,
    TerraformBin,
    TerraformTimeout,
    TfDir,
    TfOutputs,
    err_console,
    guarded,
    load_config,
    now,
    out_console,
    progress_bar,
)
from artifact_gc.config import DEFAULT_MAX_INVENTORY_AGE, parse_duration
from artifact_gc.cost.lifecycle_lint import BucketFacts, lint
from artifact_gc.errors import (
    SafetyError,
    UsageError,
)
from artifact_gc.objects.listing import bucket_versioning
from artifact_gc.render.storage_report import append_history, render_html
from artifact_gc.render.storage_report import print_text as print_report_text
from artifact_gc.render.storage_report import render_markdown as render_report_markdown
from artifact_gc.report.build import (
    lifecycle_from_bucket,
    lifecycle_from_document,
    lifecycle_from_file,
    lifecycle_from_tfvars,
    load_prices,
    run_report,
)
from artifact_gc.terraform.outputs import read_live_document
from artifact_gc.terraform.runner import DEFAULT_TIMEOUT


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
        Path | None,
        typer.Option(
            "--preview-dir",
            help="A provider-less lifecycle-preview root for --proposed-tfvars (default: the one shipped with artifact-gc).",
        ),
    ] = None,
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
    terraform_timeout: TerraformTimeout = DEFAULT_TIMEOUT,
    profile: Profile = None,
    region: Region = None,
    endpoint_url: EndpointUrl = None,
    inventory: Annotated[
        str | None,
        typer.Option(
            "--inventory",
            envvar="ARTIFACT_GC_INVENTORY",
            help="Read every version from an S3 Inventory delivery (manifest.json or configuration folder) "
            "instead of listing; an all-versions inventory counts noncurrent versions too.",
        ),
    ] = None,
    max_inventory_age: Annotated[
        str | None,
        typer.Option(
            "--max-inventory-age",
            envvar="ARTIFACT_GC_MAX_INVENTORY_AGE",
            help="Refuse older deliveries (default 48h).",
        ),
    ] = None,
) -> None:
    """Storage and cost by prefix and storage class, and a 12-month projection under lifecycle scenarios."""

    def action() -> None:
        if output_format not in ("text", "json", "markdown", "html"):
            raise UsageError(f"--format {output_format!r}: choose text, json, markdown or html")
        if proposed and proposed_tfvars:
            raise UsageError("--proposed and --proposed-tfvars both given: choose one proposed lifecycle")
        config = load_config(
            tf_dir,
            tf_outputs,
            terraform_bin,
            {
                "bucket": bucket,
                "region": region,
                "inventory": inventory,
                "max_inventory_age": max_inventory_age,
            },
            terraform_timeout,
        )
        max_age = parse_duration(config.max_inventory_age or DEFAULT_MAX_INVENTORY_AGE, "--max-inventory-age")
        if not config.bucket:
            raise UsageError("no bucket: give --bucket, ARTIFACT_GC_BUCKET, or --tf-dir/--tf-outputs")
        clients = AwsClients(AwsSettings(region=config.region, profile=profile, endpoint_url=endpoint_url))
        prices = load_prices(config.region or clients.s3.meta.region_name or "us-east-1", prices_file)
        proposal = (
            lifecycle_from_file(proposed)
            if proposed
            else lifecycle_from_tfvars(proposed_tfvars, preview_dir, terraform_timeout)
            if proposed_tfvars
            else None
        )
        with progress_bar() as progress:
            progress.add_task(f"listing s3://{config.bucket}", total=None)
            result = run_report(
                clients,
                config.bucket,
                tuple(prefix or ("",)),
                depth,
                prices,
                now(),
                proposal,
                plan_file,
                growth,
                inventory_location=config.inventory,
                max_inventory_age_seconds=max_age,
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

    guarded(action)


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
        Path | None,
        typer.Option(
            "--preview-dir",
            help="A provider-less lifecycle-preview root for --tfvars (default: the one shipped with artifact-gc).",
        ),
    ] = None,
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
    terraform_timeout: TerraformTimeout = DEFAULT_TIMEOUT,
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
                document = lifecycle_from_tfvars(tfvars, preview_dir, terraform_timeout)
            elif tf_outputs:
                document = lifecycle_from_file(tf_outputs)
            else:
                live = read_live_document(tf_dir, terraform_bin, terraform_timeout)
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

    guarded(action)
