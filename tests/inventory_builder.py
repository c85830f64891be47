"""Write S3 Inventory deliveries the way S3 does (layout, manifest, checksum, CSV/ORC/Parquet data files)
from what a bucket holds, so tests can compare `plan --inventory` with a plan by listing.

Formats as AWS documents them (storage-inventory-location.html, storage-inventory.html): CSV is gzip,
no header row, keys URL-encoded; ORC and Parquet use the snake_case names of the manifest examples.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pyarrow as pa
import pyarrow.orc as orc
import pyarrow.parquet as pq

CSV_FIELDS = [
    "Bucket",
    "Key",
    "VersionId",
    "IsLatest",
    "IsDeleteMarker",
    "Size",
    "LastModifiedDate",
    "ETag",
    "StorageClass",
]
CURRENT_FIELDS = ["Bucket", "Key", "Size", "LastModifiedDate", "ETag", "StorageClass"]
SNAKE = {
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
ARROW_TYPES = {
    "bucket": pa.string(),
    "key": pa.string(),
    "version_id": pa.string(),
    "is_latest": pa.bool_(),
    "is_delete_marker": pa.bool_(),
    "size": pa.int64(),
    "last_modified_date": pa.timestamp("ms", tz="UTC"),
    "e_tag": pa.string(),
    "storage_class": pa.string(),
}


def bucket_rows(s3: Any, bucket: str, all_versions: bool) -> list[dict[str, Any]]:
    """One row per object (or per version and delete marker), as an inventory lists them."""
    rows = []
    if all_versions:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for entry in page.get("Versions", ()):
                rows.append(_row(bucket, entry, marker=False))
            for entry in page.get("DeleteMarkers", ()):
                rows.append(_row(bucket, entry, marker=True))
    else:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            rows += [_row(bucket, entry, marker=False) for entry in page.get("Contents", ())]
    return rows


def _row(bucket: str, entry: dict[str, Any], marker: bool) -> dict[str, Any]:
    return {
        "bucket": bucket,
        "key": entry["Key"],
        "version_id": entry.get("VersionId"),
        "is_latest": bool(entry.get("IsLatest", True)),
        "is_delete_marker": marker,
        "size": None if marker else int(entry.get("Size", 0)),
        "last_modified_date": entry["LastModified"].astimezone(timezone.utc),
        "e_tag": None if marker else entry.get("ETag", "").strip('"'),  # inventories drop the quotes
        "storage_class": None if marker else entry.get("StorageClass", "STANDARD"),
    }


def _csv_bytes(rows: list[dict[str, Any]], fields: list[str]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for row in rows:
        values = []
        for field in fields:
            value = row[SNAKE[field]]
            if field == "Key":
                value = quote_plus(value, safe="/")
            elif isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, datetime):
                value = value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
            values.append("" if value is None else str(value))
        writer.writerow(values)
    return gzip.compress(text.getvalue().encode("utf-8"))


def _table(rows: list[dict[str, Any]], fields: list[str]) -> pa.Table:
    names = [SNAKE[f] for f in fields]
    return pa.table({n: pa.array([r[n] for r in rows], ARROW_TYPES[n]) for n in names})


def write_delivery(
    root: Path,
    rows: list[dict[str, Any]],
    source_bucket: str,
    file_format: str,
    all_versions: bool,
    created: datetime,
    files: int = 2,
    destination: str = "inventory-dest",
    prefix: str = "inventory",
    config_id: str = "artifact-gc-daily",
) -> Path:
    """Write one delivery under ``root`` (a mirror of the destination bucket); return its manifest.json."""
    fields = CSV_FIELDS if all_versions else CURRENT_FIELDS
    base = f"{prefix}/{source_bucket}/{config_id}"
    stamp = created.strftime("%Y-%m-%dT%H-%MZ")
    chunks = [rows[i::files] for i in range(files)]
    entries = []
    for number, chunk in enumerate(chunks):
        extension = {"CSV": "csv.gz", "ORC": "orc", "Parquet": "parquet"}[file_format]
        key = f"{base}/data/part-{stamp}-{number}.{extension}"
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        if file_format == "CSV":
            path.write_bytes(_csv_bytes(chunk, fields))
        elif file_format == "ORC":
            orc.write_table(_table(chunk, fields), path)
        else:
            pq.write_table(_table(chunk, fields), path)
        data = path.read_bytes()
        entries.append({"key": key, "size": len(data), "MD5checksum": hashlib.md5(data).hexdigest()})
    if file_format == "CSV":
        schema = ", ".join(fields)
    elif file_format == "ORC":
        orc_types = {pa.string(): "string", pa.bool_(): "boolean", pa.int64(): "bigint"}
        schema = (
            "struct<"
            + ",".join(f"{SNAKE[f]}:{orc_types.get(ARROW_TYPES[SNAKE[f]], 'timestamp')}" for f in fields)
            + ">"
        )
    else:
        schema = (
            "message s3.inventory { " + " ".join(f"optional binary {SNAKE[f]} (UTF8);" for f in fields) + " }"
        )
    manifest = {
        "sourceBucket": source_bucket,
        "destinationBucket": f"arn:aws:s3:::{destination}",
        "version": "2016-11-30",
        "creationTimestamp": str(int(created.timestamp() * 1000)),
        "fileFormat": file_format,
        "fileSchema": schema,
        "files": entries,
    }
    folder = root / base / stamp
    folder.mkdir(parents=True, exist_ok=True)
    body = json.dumps(manifest, indent=2).encode()
    (folder / "manifest.json").write_bytes(body)
    (folder / "manifest.checksum").write_text(hashlib.md5(body).hexdigest() + "\n")
    return folder / "manifest.json"


def upload(s3: Any, root: Path, bucket: str) -> None:
    """Copy a local mirror into the destination bucket (what S3 delivers there)."""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            s3.put_object(Bucket=bucket, Key=path.relative_to(root).as_posix(), Body=path.read_bytes())
