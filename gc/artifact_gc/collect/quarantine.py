"""Two-phase deletion: tag candidates for the bucket's quarantine lifecycle rule instead of deleting them.

``apply --mode quarantine`` adds the quarantine tag (``artifact-gc=condemned`` unless configured) and a
``<key>-date`` tag, keeping the object's other tags, and lists what it tagged in a ledger under the control
prefix. Every later apply reads the ledgers and removes the tags from objects the registry references
again; ``artifact-gc rescue`` removes them on request. S3 lifecycle expiration counts from an object's
creation, not from the tagging, so an object older than the rule's days expires at S3's next lifecycle
run (about a day): the quarantine rule is a delay and a safety net, not a long grace period.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from artifact_gc.aws import aws_message, error_code, in_rounds
from artifact_gc.collect.control import CONTROL_PREFIX, _get, _put
from artifact_gc.errors import UsageError
from artifact_gc.refs.reachability import ReferenceSet

LEDGER_PREFIX = CONTROL_PREFIX + "quarantine/"
DEFAULT_TAG = ("artifact-gc", "condemned")
MAX_TAGS = 10  # S3 allows at most 10 tags per object


def parse_tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"--quarantine-tag {text!r}: expected KEY=VALUE, e.g. artifact-gc=condemned")
    return key, value


@dataclass
class TagOutcome:
    tagged: list[dict[str, Any]] = field(default_factory=list)  # {"Key", "VersionId"?}
    failed: list[tuple[str, str]] = field(default_factory=list)


def _version(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id else {}


def add_tags(
    s3: Any, bucket: str, items: Iterable[tuple[str, str | None]], tag: tuple[str, str], today: datetime
) -> TagOutcome:
    """Tag each (key, version id) with the quarantine tag and its date, keeping existing tags."""
    outcome = TagOutcome()
    wanted = {tag[0]: tag[1], f"{tag[0]}-date": today.strftime("%Y-%m-%d")}
    for key, version in items:
        try:
            current = s3.get_object_tagging(Bucket=bucket, Key=key, **_version(version)).get("TagSet", [])
            merged = {t["Key"]: t["Value"] for t in current} | wanted
            if len(merged) > MAX_TAGS:
                outcome.failed.append((key, f"it already has {len(current)} tags; S3 allows {MAX_TAGS}"))
                continue
            s3.put_object_tagging(
                Bucket=bucket,
                Key=key,
                **_version(version),
                Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in merged.items()]},
            )
            outcome.tagged.append({"Key": key, **_version(version)})
        except (ClientError, BotoCoreError) as exc:
            outcome.failed.append((key, f"tagging failed: {aws_message(exc)}"))
    return outcome


def remove_tags(s3: Any, bucket: str, key: str, tag: tuple[str, str], version: str | None = None) -> bool:
    """Remove the quarantine tags from one object (its current version by default); False if it had none."""
    try:
        current = s3.get_object_tagging(Bucket=bucket, Key=key, **_version(version)).get("TagSet", [])
    except ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "404", "NoSuchVersion"):
            return False
        raise
    kept = [t for t in current if t["Key"] not in (tag[0], f"{tag[0]}-date")]
    if len(kept) == len(current):
        return False
    if kept:
        s3.put_object_tagging(Bucket=bucket, Key=key, **_version(version), Tagging={"TagSet": kept})
    else:
        s3.delete_object_tagging(Bucket=bucket, Key=key, **_version(version))
    return True


def rescue_keys(
    s3: Any,
    bucket: str,
    keys: Iterable[str],
    tag: tuple[str, str],
    workers: int = 1,
    before_round: Callable[[], None] | None = None,
) -> tuple[list[str], list[str], list[str]]:
    """Remove the quarantine tags from each key, up to ``workers`` keys at once: (rescued, without the
    tag, missing from the bucket), each in the order of ``keys``. A failure other than "not there" stops
    the rescue with the first such failure in that order (requests already made finish; untagging twice
    is harmless, so a rerun completes it)."""
    distinct = list(dict.fromkeys(keys))
    outcomes = in_rounds(lambda key: (key, _rescue(s3, bucket, key, tag)), distinct, workers, before_round)
    found: dict[str, list[str]] = {"rescued": [], "untagged": [], "missing": []}
    for key, outcome in outcomes:
        found[outcome].append(key)
    return found["rescued"], found["untagged"], found["missing"]


def _rescue(s3: Any, bucket: str, key: str, tag: tuple[str, str]) -> str:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
            return "missing"
        raise
    return "rescued" if remove_tags(s3, bucket, key, tag) else "untagged"


# ---------------------------------------------------------------------------------------------- ledgers


def write_ledger(s3: Any, bucket: str, name: str, entries: list[dict[str, Any]]) -> None:
    if entries:
        _put(s3, bucket, f"{LEDGER_PREFIX}{name}.json", {"objects": entries}, None)


def read_ledgers(s3: Any, bucket: str) -> dict[str, list[dict[str, Any]]]:
    ledgers = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=LEDGER_PREFIX):
        for entry in page.get("Contents", ()):
            document, _ = _get(s3, bucket, entry["Key"])
            ledgers[entry["Key"]] = list((document or {}).get("objects", []))
    return ledgers


def rescue_referenced(s3: Any, bucket: str, refs: ReferenceSet, tag: tuple[str, str]) -> list[str]:
    """Untag quarantined objects that the registry references again; prune ledgers of settled objects."""
    rescued = []
    for ledger_key, entries in read_ledgers(s3, bucket).items():
        remaining = []
        for entry in entries:
            key = entry["Key"]
            if refs.protects(key):
                if remove_tags(s3, bucket, key, tag, entry.get("VersionId")):
                    rescued.append(key)
                continue
            try:
                s3.head_object(Bucket=bucket, Key=key, **_version(entry.get("VersionId")))
                remaining.append(entry)  # still quarantined, still unreferenced
            except ClientError as exc:
                if error_code(exc) not in ("404", "NoSuchKey", "NoSuchVersion", "405"):
                    remaining.append(entry)  # cannot tell: keep watching it
        if remaining != entries:
            _, etag = _get(s3, bucket, ledger_key)
            _put(s3, bucket, ledger_key, {"objects": remaining}, etag)
    return rescued


def ledger_entries(tagged: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    return [{**item, "tagged_at": now.isoformat()} for item in tagged]
