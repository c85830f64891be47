"""``artifact-gc report`` and ``lint-policy``: gather inputs (S3, Terraform, files), call the pure core."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from artifact_gc.aws import AwsClients, aws_message, error_code
from artifact_gc.collect.planfile import PlannedKeys, planned_keys, read_header
from artifact_gc.config import DEFAULT_MAX_INVENTORY_AGE, parse_duration
from artifact_gc.cost.lifecycle import rule_shape_problems, without_nulls
from artifact_gc.cost.lifecycle_lint import BucketFacts, lint
from artifact_gc.cost.prices import Prices, parse_prices
from artifact_gc.cost.simulate import PopulationBuilder, project
from artifact_gc.errors import AwsError, UsageError
from artifact_gc.inputs import package_text, read_text
from artifact_gc.objects.listing import bucket_versioning
from artifact_gc.objects.versions import Inventory, scan_uploads, scan_versions
from artifact_gc.render.storage_report import assemble
from artifact_gc.terraform.lifecycle_preview import evaluate_lifecycle
from artifact_gc.terraform.outputs import load_saved_document, output_value
from artifact_gc.terraform.runner import DEFAULT_TIMEOUT

DEFAULT_MIN_SIZE = "all_storage_classes_128K"


@dataclass(frozen=True)
class LifecycleDocument:
    """A lifecycle configuration from somewhere, with the bucket-level minimum transition size."""

    configuration: dict[str, Any]
    minimum_object_size: str
    origin: str

    def __post_init__(self) -> None:
        # absent fields, however spelled: every reader of the rules sees only fields that are there
        rules = without_nulls(self.configuration.get("Rules"))
        object.__setattr__(self, "configuration", {**self.configuration, "Rules": rules})


def lifecycle_from_document(document: Any, origin: str) -> LifecycleDocument:
    """``{"Rules": [...]}``, a GetBucketLifecycleConfiguration answer, or ``terraform output -json``."""
    value = output_value(document, "lifecycle_configuration")
    if value is not None:
        minimum = output_value(document, "transition_default_minimum_object_size") or DEFAULT_MIN_SIZE
        document = value
    else:
        minimum = (
            document.get("TransitionDefaultMinimumObjectSize", DEFAULT_MIN_SIZE)
            if isinstance(document, dict)
            else DEFAULT_MIN_SIZE
        )
    if not isinstance(document, dict) or not isinstance(document.get("Rules"), list):
        raise UsageError(
            f'{origin}: no lifecycle configuration (expected {{"Rules": [...]}} or terraform outputs with lifecycle_configuration)'
        )
    return LifecycleDocument({"Rules": document["Rules"]}, str(minimum), origin)


def refuse_malformed(document: LifecycleDocument) -> None:
    """A lifecycle whose rules are not of S3's shape cannot be projected: refuse it, naming the first
    field at fault (exit 2); `lint-policy` lists them all."""
    for index, rule in enumerate(document.configuration["Rules"]):
        problems = rule_shape_problems(rule, f"Rules[{index}]")
        if problems:
            raise UsageError(
                f"{document.origin}: {problems[0]}, as S3 defines lifecycle rules "
                f"(`artifact-gc lint-policy` lists every problem)"
            )


def lifecycle_from_file(path: Path) -> LifecycleDocument:
    return lifecycle_from_document(load_saved_document(path), str(path))


def lifecycle_from_tfvars(
    tfvars: Path, preview_dir: Path | None = None, timeout: float = DEFAULT_TIMEOUT
) -> LifecycleDocument:
    preview = evaluate_lifecycle(preview_dir, tfvars, timeout=timeout)
    return LifecycleDocument(
        preview.configuration, preview.transition_default_minimum_object_size, str(tfvars)
    )


def lifecycle_from_bucket(s3: Any, bucket: str) -> LifecycleDocument:
    try:
        answer = s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) == "NoSuchLifecycleConfiguration":
            return LifecycleDocument(
                {"Rules": []}, DEFAULT_MIN_SIZE, f"s3://{bucket} (no lifecycle configuration)"
            )
        if error_code(exc) in ("NoSuchBucket", "404"):
            raise UsageError(f"bucket {bucket!r} does not exist (check --bucket and the account)") from exc
        raise AwsError(
            f"reading the lifecycle configuration of s3://{bucket} failed: {aws_message(exc)}"
        ) from exc
    except BotoCoreError as exc:
        raise AwsError(
            f"reading the lifecycle configuration of s3://{bucket} failed: {aws_message(exc)}"
        ) from exc
    return LifecycleDocument(
        {"Rules": answer.get("Rules", [])},
        answer.get("TransitionDefaultMinimumObjectSize", DEFAULT_MIN_SIZE),
        f"s3://{bucket}",
    )


def run_report(
    clients: AwsClients,
    bucket: str,
    prefixes: tuple[str, ...],
    depth: int,
    prices: Prices,
    now: datetime,
    proposed: LifecycleDocument | None = None,
    plan_path: Path | None = None,
    growth_gb_per_month: float = 0.0,
    inventory_location: str | None = None,
    max_inventory_age_seconds: float = parse_duration(DEFAULT_MAX_INVENTORY_AGE, "--max-inventory-age"),
) -> dict[str, Any]:
    if depth < 1:
        raise UsageError(f"--depth {depth}: must be 1 or more")
    if growth_gb_per_month < 0:
        raise UsageError(f"--growth-gb-per-month {growth_gb_per_month}: must be 0 or more")
    s3 = clients.s3
    versioning = bucket_versioning(s3, bucket)
    versioned = versioning != "Disabled"
    current = lifecycle_from_bucket(s3, bucket)
    candidates: Container[str] = frozenset()
    planned = 0
    if plan_path is not None:
        header = read_header(plan_path)
        if header.get("bucket") != bucket:
            raise UsageError(f"--plan {plan_path} is for bucket {header.get('bucket')!r}, not {bucket!r}")
        planned = sum(1 for _ in planned_keys(plan_path))  # every candidate checked, streamed, not held
        if not inventory_location:  # an inventory report joins the plan's keys in DuckDB instead
            candidates = PlannedKeys(plan_path)

    for document in (current, proposed):
        if document is not None:
            refuse_malformed(document)
    growth = int(growth_gb_per_month * prices.gb_bytes)
    target = proposed or current
    scenarios = [
        ("a", "(a) no lifecycle rules", [], False, False),
        (
            "b",
            "(b) current lifecycle",
            current.configuration["Rules"],
            current.minimum_object_size != DEFAULT_MIN_SIZE,
            False,
        ),
    ]
    if proposed is not None:
        scenarios.append(
            (
                "c",
                f"(c) proposed: {Path(proposed.origin).name}",
                proposed.configuration["Rules"],
                proposed.minimum_object_size != DEFAULT_MIN_SIZE,
                False,
            )
        )
    if plan_path is not None:
        scenarios.append(
            (
                "d",
                f"(d) {'(c)' if proposed else '(b)'} + GC plan ({planned:,} deleted)",
                target.configuration["Rules"],
                target.minimum_object_size != DEFAULT_MIN_SIZE,
                True,
            )
        )
    # every scenario's population is filled while the bucket is read: nothing is kept per version
    builders = [
        PopulationBuilder(rules, deleted_become_noncurrent=versioned and gc and bool(planned))
        for _, _, rules, _, gc in scenarios
    ]
    inventory = Inventory(depth=depth)
    excluded_in = [gc for _, _, _, _, gc in scenarios]
    if inventory_location:
        from artifact_gc.collect.inventory_mark import report_from_inventory

        report_from_inventory(
            inventory_location,
            s3,
            bucket,
            now,
            max_inventory_age_seconds,
            prefixes,
            inventory,
            builders,
            excluded_in,
            plan_path,
        )
    else:
        for record in scan_versions(s3, bucket, prefixes, now, inventory):
            inventory.add(record)
            row = record.as_tuple()
            deleted = not record.noncurrent and record.key in candidates
            for builder, gc in zip(builders, excluded_in, strict=True):
                builder.add(row, excluded=gc and deleted)
    scan_uploads(s3, bucket, prefixes, inventory)

    projections = [
        project(
            builder.population,
            prices,
            name,
            label,
            transition_small_objects=small,
            growth_bytes_per_month=growth,
        )
        for builder, (name, label, _, small, _) in zip(builders, scenarios, strict=True)
    ]
    assumptions = [
        f"prices: {prices.region}{' (not in the table: us-east-1 prices)' if prices.assumed_region else ''}, as of {prices.as_of}",
        (
            f"growth: {growth_gb_per_month:g} GB a month of new STANDARD data with today's prefix mix and average object size"
            if growth
            else "no growth: the population stays as listed apart from lifecycle actions"
        ),
        "lifecycle actions that fall due during a month apply at the start of the next month (S3 runs rules about daily)",
        "an existing object entered its storage class on its rule's transition day, else at creation",
        "tag-filtered rules match no object (tags are not listed); retrievals, other requests and data transfer are not counted",
    ]
    if plan_path is not None:
        assumptions.append(
            "(d) deletes the plan's candidates in month 1"
            + (
                "; on this versioned bucket they stay as noncurrent versions until NoncurrentVersionExpiration"
                if versioned
                else ""
            )
        )
    facts = BucketFacts(
        versioned=versioned,
        transition_default_minimum_object_size=current.minimum_object_size,
        small_objects_by_prefix=tuple(inventory.small_by_group.items()),
    )
    findings = lint(current.configuration, facts) if current.configuration["Rules"] else []
    return assemble(bucket, versioning, inventory, prices, projections, assumptions, findings, now)


def load_prices(region: str, path: Path | None = None) -> Prices:
    """The packaged price table, or ``--prices FILE`` of the same shape."""
    if path is None:
        return parse_prices(package_text("data/s3_prices.json"), region, "packaged price table")
    return parse_prices(read_text(path, f"--prices {path}"), region, f"--prices {path}")
