"""An S3 Inventory delivery's ``manifest.json``, checked: pure (the reader in inventory.py fetches it).

What AWS documents (https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html):
``sourceBucket``, ``destinationBucket`` (an ARN), ``creationTimestamp`` (epoch milliseconds, as a string),
``fileFormat`` (CSV, ORC or Parquet), ``fileSchema`` (CSV: the column names, comma separated; ORC: a
``struct<name:type,...>``; Parquet: a ``message s3.inventory { ... }`` schema) and ``files`` (``key``,
``size``, ``MD5checksum``). Every field the GC relies on is checked here; anything else refuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from artifact_gc.errors import SafetyError

FORMATS = {"csv": "CSV", "orc": "ORC", "parquet": "Parquet"}
# CSV names -> the ORC/Parquet names, which the GC uses throughout
CSV_NAMES = {
    "Bucket": "bucket",
    "Key": "key",
    "VersionId": "version_id",
    "IsLatest": "is_latest",
    "IsDeleteMarker": "is_delete_marker",
    "Size": "size",
    "LastModifiedDate": "last_modified_date",
    "ETag": "e_tag",
    "StorageClass": "storage_class",
}
# Without these an inventory cannot stand in for a listing: apply's conditional deletes need the ETag,
# the age rule LastModifiedDate, the size limits Size.
REQUIRED = ("key", "size", "last_modified_date", "e_tag")


@dataclass(frozen=True)
class InventoryFile:
    key: str  # in the destination bucket
    size: int
    md5: str


@dataclass(frozen=True)
class InventoryManifest:
    source_bucket: str
    destination_bucket: str  # the name, from the ARN
    created_at: datetime
    file_format: str  # CSV, ORC or Parquet
    columns: tuple[str, ...]  # ORC/Parquet names, in file order for CSV
    files: tuple[InventoryFile, ...]

    @property
    def versions(self) -> bool:
        """An all-versions inventory: one row per version and delete marker."""
        return "is_latest" in self.columns


def _refuse(where: str, why: str) -> SafetyError:
    return SafetyError(f"inventory manifest {where}: {why}; it cannot stand in for a listing (exit 3)")


def parse_manifest(document: Any, where: str) -> InventoryManifest:
    """Check a decoded ``manifest.json``; SafetyError naming the field on anything unexpected."""
    if not isinstance(document, dict):
        raise _refuse(where, "is not a JSON object")
    try:
        source = document["sourceBucket"]
        destination = document["destinationBucket"]
        stamp = document["creationTimestamp"]
        file_format = document["fileFormat"]
        schema = document["fileSchema"]
        files = document["files"]
    except KeyError as exc:
        raise _refuse(where, f"has no {exc.args[0]!r}") from exc
    if not isinstance(source, str) or not source:
        raise _refuse(where, "sourceBucket is not a bucket name")
    if not isinstance(destination, str) or not destination.startswith("arn:aws"):
        raise _refuse(where, f"destinationBucket {destination!r} is not a bucket ARN")
    try:
        millis = int(str(stamp))
    except ValueError:
        raise _refuse(where, f"creationTimestamp {stamp!r} is not epoch milliseconds") from None
    fmt = FORMATS.get(str(file_format).lower())
    if fmt is None:
        raise _refuse(where, f"fileFormat {file_format!r} is not CSV, ORC or Parquet")
    if not isinstance(schema, str):
        raise _refuse(where, "fileSchema is not a string")
    columns = schema_columns(fmt, schema)
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise _refuse(
            where,
            f"its schema lacks {', '.join(missing)} (turn on the optional fields Size, LastModifiedDate and "
            "ETag in the inventory configuration)",
        )
    if not isinstance(files, list) or not files:
        raise _refuse(where, "lists no data files")
    parsed = []
    for number, entry in enumerate(files):
        if not isinstance(entry, dict):
            raise _refuse(where, f"files[{number}] is not an object")
        key, size, md5 = entry.get("key"), entry.get("size"), entry.get("MD5checksum")
        if not isinstance(key, str) or not key or key.startswith("/") or ".." in key.split("/"):
            raise _refuse(where, f"files[{number}].key {key!r} is not a key")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise _refuse(where, f"files[{number}].size {size!r} is not a size")
        if not isinstance(md5, str) or not re.fullmatch(r"[0-9a-fA-F]{32}", md5):
            raise _refuse(where, f"files[{number}].MD5checksum {md5!r} is not an MD5")
        parsed.append(InventoryFile(key, size, md5.lower()))
    return InventoryManifest(
        source_bucket=source,
        destination_bucket=destination.rsplit(":", 1)[-1],
        created_at=datetime.fromtimestamp(millis / 1000, timezone.utc),
        file_format=fmt,
        columns=columns,
        files=tuple(parsed),
    )


def schema_columns(file_format: str, schema: str) -> tuple[str, ...]:
    """Column names of a fileSchema, as ORC/Parquet spell them (``last_modified_date``, ``e_tag``)."""
    if file_format == "CSV":
        names = [name.strip() for name in schema.split(",")]
        return tuple(CSV_NAMES.get(name, _snake(name)) for name in names if name)
    if file_format == "ORC":
        body = re.fullmatch(r"\s*struct<(.*)>\s*", schema, re.DOTALL)
        fields = body[1].split(",") if body else []
        return tuple(field.split(":", 1)[0].strip() for field in fields if ":" in field)
    body = re.search(r"\{(.*)\}", schema, re.DOTALL)
    fields = body[1].split(";") if body else []
    names = []
    for field in fields:
        words = field.split("(", 1)[0].split()
        if len(words) >= 3:
            names.append(words[2])
    return tuple(names)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def check_delivery(
    manifest: InventoryManifest, where: str, bucket: str, now: datetime, max_age_s: float
) -> None:
    """The delivery must describe ``bucket`` and be fresh: an old snapshot misses newer references' objects
    (harmless) but also shows objects as they were (a rewritten object would be re-checked, a new one absent)."""
    if manifest.source_bucket != bucket:
        raise _refuse(where, f"describes bucket {manifest.source_bucket!r}, not {bucket!r}")
    age = (now - manifest.created_at).total_seconds()
    if age > max_age_s:
        raise _refuse(
            where,
            f"was created {age / 3600:.1f} h ago ({manifest.created_at.isoformat()}), more than "
            f"--max-inventory-age {max_age_s / 3600:g} h: wait for the next delivery or raise the limit",
        )
    if age < -300:
        raise _refuse(
            where, f"was created in the future ({manifest.created_at.isoformat()}): check the clocks"
        )


DELIVERY_FOLDER = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z")


def newest_first(folders: list[str]) -> list[str]:
    """Dated delivery folder names (``2016-11-06T21-32Z``), newest first; anything else is ignored."""
    return sorted((f for f in folders if DELIVERY_FOLDER.fullmatch(f)), reverse=True)
