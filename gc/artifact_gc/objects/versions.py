"""What a bucket holds, for reports: every version (current and noncurrent) and incomplete uploads.

The edge functions list S3; :func:`group_of` and :class:`Inventory` aggregate plain records.
A noncurrent version's age counts from when it stopped being current, which is the LastModified of the
next newer version or delete marker of the same key (ListObjectVersions returns them newest first).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from artifact_gc.aws import aws_message
from artifact_gc.collect.control import CONTROL_PREFIX
from artifact_gc.errors import AwsError

SMALL_BYTES = 128 * 1024
MAX_UPLOADS_SIZED = 1000  # ListParts is one request per upload: size at most this many


@dataclass(frozen=True)
class VersionRecord:
    key: str
    size: int
    storage_class: str
    age_days: int  # current: since creation; noncurrent: since it became noncurrent
    noncurrent: bool
    rank: int  # noncurrent: 1 = newest noncurrent version of its key

    def as_tuple(self) -> tuple[str, int, str, int, bool, int]:
        return (self.key, self.size, self.storage_class, self.age_days, self.noncurrent, self.rank)


def group_of(key: str, depth: int) -> str:
    """The first ``depth`` folders of a key (``checkpoints/`` or ``checkpoints/run-1/``), or ``(root)``."""
    parts = key.split("/")
    if len(parts) == 1:
        return "(root)"
    return "/".join(parts[: min(depth, len(parts) - 1)]) + "/"


@dataclass
class Inventory:
    """Aggregates of one scan."""

    depth: int
    # [count, bytes, of which under 128 KB: count, bytes] -- small objects are billed differently
    current: dict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0])
    )
    noncurrent: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0]))
    small_by_group: Counter[str] = field(default_factory=Counter)
    delete_markers: int = 0
    uploads: int = 0
    upload_bytes: int = 0
    uploads_truncated: bool = False

    def add(self, record: VersionRecord) -> None:
        group = "" if record.noncurrent else group_of(record.key, self.depth)
        self.add_versions(
            record.noncurrent, group, record.storage_class, record.size < SMALL_BYTES, 1, record.size
        )

    def add_versions(
        self, noncurrent: bool, group: str, storage_class: str, small: bool, count: int, size: int
    ) -> None:
        """Add ``count`` versions of ``size`` bytes in all, of one class (and for current versions one
        group; "" for noncurrent ones), all small or none (the report's SQL aggregates an inventory into these)."""
        if noncurrent:
            slot = self.noncurrent[storage_class]
        else:
            slot = self.current[(group, storage_class)]
            if small:
                self.small_by_group[group] += count
        slot[0] += count
        slot[1] += size
        if small:
            slot[2] += count
            slot[3] += size


def _days(now: datetime, then: datetime) -> int:
    return max(0, int((now - then.astimezone(timezone.utc)).total_seconds() // 86400))


def scan_versions(
    s3: Any, bucket: str, prefixes: Sequence[str], now: datetime, counts: Inventory
) -> Iterator[VersionRecord]:
    """Every object version under ``prefixes`` (ListObjectVersions works on unversioned buckets too)."""
    try:
        for prefix in prefixes:
            walk = VersionWalk(now)
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
                entries = [
                    Entry(
                        v["Key"],
                        v["LastModified"],
                        False,
                        bool(v.get("IsLatest")),
                        int(v.get("Size", 0)),
                        v.get("StorageClass") or "STANDARD",
                    )
                    for v in page.get("Versions", ())
                ]
                markers = page.get("DeleteMarkers", ())
                counts.delete_markers += len(markers)
                entries += [
                    Entry(m["Key"], m["LastModified"], True, bool(m.get("IsLatest")), 0, "") for m in markers
                ]
                entries.sort(key=lambda e: (e.key, -e.modified.timestamp()))
                yield from walk.records(entries)
    except (ClientError, BotoCoreError) as exc:
        raise AwsError(f"listing the versions of s3://{bucket} failed: {aws_message(exc)}") from exc


@dataclass(frozen=True)
class Entry:
    """One version or delete marker, from a listing or an inventory."""

    key: str
    modified: datetime
    marker: bool
    latest: bool
    size: int
    storage_class: str


class VersionWalk:
    """Turn entries in (key, newest first) order into VersionRecords. A noncurrent version's age counts
    from when the next newer entry of its key replaced it."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.last_key: str | None = None
        self.newer: datetime | None = None
        self.rank = 0

    def records(self, entries: Sequence[Entry]) -> Iterator[VersionRecord]:
        for entry in entries:
            if entry.key.startswith(CONTROL_PREFIX):
                continue  # the GC's own state (lease, history, ledgers) is not artifact data
            if entry.key != self.last_key:
                self.last_key, self.newer, self.rank = entry.key, None, 0
            if not entry.marker:
                current = entry.latest
                self.rank += 0 if current else 1
                age = (
                    _days(self.now, entry.modified)
                    if current or self.newer is None
                    else _days(self.now, self.newer)
                )
                yield VersionRecord(
                    entry.key, entry.size, entry.storage_class, age, not current, 0 if current else self.rank
                )
            self.newer = entry.modified


def scan_uploads(s3: Any, bucket: str, prefixes: Sequence[str], counts: Inventory) -> None:
    """Count incomplete multipart uploads and the bytes of their parts (billed until aborted)."""
    try:
        for prefix in prefixes:
            for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=prefix):
                for upload in page.get("Uploads", ()):
                    counts.uploads += 1
                    if counts.uploads > MAX_UPLOADS_SIZED:
                        counts.uploads_truncated = True
                        continue
                    parts = s3.get_paginator("list_parts").paginate(
                        Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    counts.upload_bytes += sum(
                        p.get("Size", 0) for part_page in parts for p in part_page.get("Parts", ())
                    )
    except (ClientError, BotoCoreError) as exc:
        raise AwsError(f"listing the incomplete uploads of s3://{bucket} failed: {aws_message(exc)}") from exc
