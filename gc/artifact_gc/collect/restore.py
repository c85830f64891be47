"""``artifact-gc restore AUDIT_LOG``: undo an apply on a versioned bucket by removing exactly the delete
markers it created (matched by version id), which makes the previous versions current again."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from artifact_gc.aws import aws_message, error_code
from artifact_gc.collect.planfile import PLAN_KIND
from artifact_gc.errors import UsageError
from artifact_gc.inputs import read_text

MAX_BATCH = 1000


@dataclass
class RestorePlan:
    bucket: str
    markers: list[tuple[str, str]] = field(default_factory=list)  # (key, delete marker version id)
    permanent: list[str] = field(default_factory=list)  # keys deleted for good: nothing to restore


@dataclass
class RestoreResult:
    restored: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # marker no longer there (restored before, or removed)
    failed: list[tuple[str, str]] = field(default_factory=list)


def read_audit(path: Path) -> RestorePlan:
    """Parse an audit log; UsageError for a file that is not one, or that mixes buckets."""
    lines = read_text(path, f"audit log {path}").splitlines()
    plan: RestorePlan | None = None
    quarantined = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if isinstance(record, dict) and record.get("kind") == PLAN_KIND:
                raise UsageError(
                    f"{path} is a plan, not an audit log: give the audit log apply wrote "
                    f"(by default {path.name}.audit.jsonl)"
                )
            bucket, key = record["bucket"], record["key"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise UsageError(
                f"audit log {path} line {number}: not an artifact-gc audit record ({exc})"
            ) from exc
        if record.get("action") == "quarantine":
            quarantined += 1
            continue  # tags, not deletions: `artifact-gc rescue` removes them
        plan = plan or RestorePlan(bucket)
        if bucket != plan.bucket:
            raise UsageError(
                f"audit log {path} mixes buckets {plan.bucket!r} and {bucket!r}: restore one bucket at a time"
            )
        marker = record.get("delete_marker_version_id")
        if marker and not record.get("permanent"):
            if (key, marker) not in plan.markers:  # one marker, however often it was recorded
                plan.markers.append((key, marker))
        else:
            plan.permanent.append(key)
    if plan is None and quarantined:
        raise UsageError(
            f"audit log {path} records {quarantined} quarantined objects, no deletions: "
            "`artifact-gc rescue --plan PLAN` removes their quarantine tags"
        )
    if plan is None:
        raise UsageError(f"audit log {path} is empty: nothing to restore")
    return plan


def remove_markers(s3: Any, bucket: str, markers: list[tuple[str, str]]) -> RestoreResult:
    """Delete the given delete-marker versions (never any data version) in batches of 1,000."""
    result = RestoreResult()
    for start in range(0, len(markers), MAX_BATCH):
        batch = markers[start : start + MAX_BATCH]
        objects = [{"Key": key, "VersionId": version} for key, version in batch]
        try:
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": False})
        except (ClientError, BotoCoreError) as exc:
            result.failed += [(key, aws_message(exc)) for key, _ in batch]
            continue
        errors = {(e.get("Key"), e.get("VersionId")): e for e in answer.get("Errors", ())}
        for key, version in batch:
            error = errors.get((key, version)) or errors.get((key, None))
            if error is None:
                result.restored.append(key)
            elif error.get("Code") in ("NoSuchVersion", "NoSuchKey"):
                result.already.append(key)
            else:
                result.failed.append((key, f"{error.get('Code')}: {error.get('Message', '')}"))
    return result


def check_markers(
    s3: Any, bucket: str, markers: list[tuple[str, str]]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[str]]:
    """Split markers into (verified delete markers, unverifiable (key, reason), gone).

    Restore never deletes a data version: an id it cannot verify as a delete marker of that key (listing
    denied, throttled, failed) is not touched, whatever the audit log says.
    """
    kept: list[tuple[str, str]] = []
    unverified: list[tuple[str, str]] = []
    gone: list[str] = []
    for key, version in markers:
        try:
            pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)
            found = {
                m["VersionId"] for page in pages for m in page.get("DeleteMarkers", ()) if m["Key"] == key
            }
        except (ClientError, BotoCoreError) as exc:
            unverified.append((key, f"cannot verify {version} is a delete marker: {aws_message(exc)}"))
            continue
        if version in found:
            kept.append((key, version))
        else:
            gone.append(key)
    return kept, unverified, gone


def still_deleted(s3: Any, bucket: str, keys: list[str]) -> list[tuple[str, str]]:
    """Keys whose current version is still a delete marker (or that cannot be read): (key, why)."""
    missing = []
    for key in dict.fromkeys(keys):
        try:
            s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            why = (
                "still deleted (another delete marker is current)"
                if error_code(exc) in ("404", "NoSuchKey", "NotFound", "405", "MethodNotAllowed")
                else f"cannot check it is back: {aws_message(exc)}"
            )
            missing.append((key, why))
        except BotoCoreError as exc:
            missing.append((key, f"cannot check it is back: {aws_message(exc)}"))
    return missing
