"""``artifact-gc restore AUDIT_LOG``: undo an apply on a versioned bucket by removing exactly the delete
markers it created (matched by version id), which makes the previous versions current again."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from artifact_gc.aws import aws_message, error_code, in_rounds
from artifact_gc.collect.planfile import PLAN_KIND
from artifact_gc.errors import UsageError
from artifact_gc.inputs import text_lines

MAX_BATCH = 1000
VERSIONS_PAGE = 1000  # versions per ListObjectVersions page (S3's most)


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
    plan: RestorePlan | None = None
    markers: list[tuple[str, str]] = []
    quarantined = 0
    for number, line in enumerate(text_lines(path, f"audit log {path}"), start=1):
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
            markers.append((key, marker))
        else:
            plan.permanent.append(key)
    if plan is None and quarantined:
        raise UsageError(
            f"audit log {path} records {quarantined} quarantined objects, no deletions: "
            "`artifact-gc rescue --plan PLAN` removes their quarantine tags"
        )
    if plan is None:
        raise UsageError(f"audit log {path} is empty: nothing to restore")
    plan.markers = list(dict.fromkeys(markers))  # one marker, however often it was recorded, in log order
    return plan


def remove_markers(
    s3: Any,
    bucket: str,
    markers: list[tuple[str, str]],
    workers: int = 1,
    before_round: Callable[[], None] | None = None,
) -> RestoreResult:
    """Delete the given delete-marker versions (never any data version) in batches of 1,000, up to
    ``workers`` batches at once; the result lists keys in the order of ``markers``."""
    batches = [markers[start : start + MAX_BATCH] for start in range(0, len(markers), MAX_BATCH)]
    result = RestoreResult()
    for part in in_rounds(lambda batch: _remove_batch(s3, bucket, batch), batches, workers, before_round):
        result.restored += part.restored
        result.already += part.already
        result.failed += part.failed
    return result


def _remove_batch(s3: Any, bucket: str, batch: list[tuple[str, str]]) -> RestoreResult:
    result = RestoreResult()
    objects = [{"Key": key, "VersionId": version} for key, version in batch]
    try:
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": False})
    except (ClientError, BotoCoreError) as exc:
        return RestoreResult(failed=[(key, aws_message(exc)) for key, _ in batch])
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
    s3: Any,
    bucket: str,
    markers: list[tuple[str, str]],
    workers: int = 1,
    before_round: Callable[[], None] | None = None,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[str]]:
    """Split markers into (verified delete markers, unverifiable (key, reason), gone), each in the order
    of ``markers``; each key is listed once, up to ``workers`` keys at once.

    Restore never deletes a data version: an id it cannot verify as a delete marker of that key (listing
    denied, throttled, failed) is not touched, whatever the audit log says.
    """
    keys = list(dict.fromkeys(key for key, _ in markers))  # a key with two markers is listed once
    answers = dict(in_rounds(lambda key: (key, _markers_of(s3, bucket, key)), keys, workers, before_round))
    kept: list[tuple[str, str]] = []
    unverified: list[tuple[str, str]] = []
    gone: list[str] = []
    for key, version in markers:
        answer = answers[key]
        if isinstance(answer, str):
            unverified.append((key, f"cannot verify {version} is a delete marker: {answer}"))
        elif version in answer:
            kept.append((key, version))
        else:
            gone.append(key)
    return kept, unverified, gone


def _markers_of(s3: Any, bucket: str, key: str) -> set[str] | str:
    """The version ids of ``key``'s delete markers, or why they cannot be listed.

    The listing stays under ``key`` (a role may list only where the GC works). ``key`` sorts before every
    other key it is a prefix of, so its versions come first: the listing stops at the first page that
    reaches another key. A key with a million objects below it (``models/a`` beside ``models/a/...``)
    costs one request, not a thousand."""
    found: set[str] = set()
    try:
        pages = s3.get_paginator("list_object_versions").paginate(
            Bucket=bucket, Prefix=key, PaginationConfig={"PageSize": VERSIONS_PAGE}
        )
        for page in pages:
            entries = [*page.get("Versions", ()), *page.get("DeleteMarkers", ())]
            found |= {m["VersionId"] for m in page.get("DeleteMarkers", ()) if m["Key"] == key}
            if any(entry["Key"] != key for entry in entries):
                break
    except (ClientError, BotoCoreError) as exc:
        return aws_message(exc)
    return found


def still_deleted(
    s3: Any,
    bucket: str,
    keys: list[str],
    workers: int = 1,
    before_round: Callable[[], None] | None = None,
) -> list[tuple[str, str]]:
    """Keys whose current version is still a delete marker (or that cannot be read): (key, why), in the
    order of ``keys``; up to ``workers`` keys are read at once."""
    distinct = list(dict.fromkeys(keys))
    answers = in_rounds(lambda key: (key, _why_not_back(s3, bucket, key)), distinct, workers, before_round)
    return [(key, why) for key, why in answers if why is not None]


def _why_not_back(s3: Any, bucket: str, key: str) -> str | None:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        return (
            "still deleted (another delete marker is current)"
            if error_code(exc) in ("404", "NoSuchKey", "NotFound", "405", "MethodNotAllowed")
            else f"cannot check it is back: {aws_message(exc)}"
        )
    except BotoCoreError as exc:
        return f"cannot check it is back: {aws_message(exc)}"
    return None
