"""``artifact-gc restore AUDIT_LOG``: undo an apply on a versioned bucket by removing exactly the delete
markers it created (matched by version id), which makes the previous versions current again."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from artifact_gc.aws import aws_message
from artifact_gc.errors import UsageError

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
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"audit log {path}: cannot read it ({exc.strerror or exc})") from exc
    plan: RestorePlan | None = None
    quarantined = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
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
        if record.get("delete_marker_version_id"):
            plan.markers.append((key, record["delete_marker_version_id"]))
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


def check_markers(s3: Any, bucket: str, markers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Keep only markers that exist and are delete markers: restore never deletes a data version."""
    kept = []
    for key, version in markers:
        try:
            pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)
            found = {
                m["VersionId"] for page in pages for m in page.get("DeleteMarkers", ()) if m["Key"] == key
            }
        except (ClientError, BotoCoreError):
            found = {version}  # cannot verify: DeleteObjects on a marker id is still only that marker
        if version in found:
            kept.append((key, version))
    return kept
