"""Find, verify and fetch an S3 Inventory delivery, local or in S3. Trusts nothing it reads.

LOCATION is a ``manifest.json`` (``s3://`` or a local path) or the folder of one inventory configuration
(``s3://DEST/PREFIX/SOURCE-BUCKET/CONFIG-ID/``, or its local copy), in which the newest *complete*
delivery is used: one whose ``manifest.checksum`` exists and is the MD5 of its ``manifest.json``. A local
copy mirrors the destination bucket (``aws s3 sync s3://DEST ./DEST``): the manifest's data-file keys
resolve under the nearest folder above the manifest that holds them. Each data file must match the
manifest's MD5 before it is read. Every refusal is a SafetyError (exit 3).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from artifact_gc.aws import aws_message, error_code, in_order
from artifact_gc.errors import SafetyError
from artifact_gc.objects.inventory_manifest import (
    InventoryFile,
    InventoryManifest,
    check_delivery,
    newest_first,
    parse_manifest,
)

CHUNK = 8 << 20
FETCH_WORKERS = 8  # data files checked or fetched at once: MD5 releases the GIL, S3 GETs overlap


@dataclass(frozen=True)
class Delivery:
    """A verified manifest and where its data files live (a local folder, or the destination bucket)."""

    location: str  # the manifest.json, as s3:// URI or local path
    manifest: InventoryManifest
    local_root: Path | None  # set for a local copy


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise SafetyError(f"--inventory {uri!r}: no bucket in the URI")
    return bucket, key


def _get(s3: Any, bucket: str, key: str) -> bytes | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "404"):
            return None
        raise SafetyError(f"reading inventory s3://{bucket}/{key} failed: {aws_message(exc)}") from exc
    except BotoCoreError as exc:
        raise SafetyError(f"reading inventory s3://{bucket}/{key} failed: {aws_message(exc)}") from exc


def _read(location: str, s3: Any) -> bytes | None:
    """The bytes at a local path or s3:// URI, or None when there is nothing there."""
    if location.startswith("s3://"):
        return _get(s3, *_split(location))
    path = Path(location)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SafetyError(f"inventory {location}: cannot read it ({exc.strerror or exc})") from exc


def _complete(manifest_location: str, s3: Any) -> tuple[bytes | None, str | None]:
    """The manifest's bytes if its delivery is complete, else (None, why)."""
    body = _read(manifest_location, s3)
    if body is None:
        return None, "has no manifest.json"
    checksum = _read(manifest_location[: -len("manifest.json")] + "manifest.checksum", s3)
    if checksum is None:
        return None, "has no manifest.checksum (the delivery is incomplete or still being written)"
    expected = checksum.decode("ascii", "replace").strip().split()[0].lower() if checksum.strip() else ""
    if expected != _md5(body):
        return None, "manifest.checksum is not the MD5 of manifest.json (a damaged or partial delivery)"
    return body, None


def _subfolders(location: str, s3: Any) -> list[str]:
    if location.startswith("s3://"):
        bucket, prefix = _split(location)
        try:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
            return [
                p["Prefix"][len(prefix) :].rstrip("/")
                for page in pages
                for p in page.get("CommonPrefixes", ())
            ]
        except (ClientError, BotoCoreError) as exc:
            raise SafetyError(f"listing inventory {location} failed: {aws_message(exc)}") from exc
    path = Path(location)
    if not path.is_dir():
        raise SafetyError(f"--inventory {location}: no such manifest.json or delivery folder")
    return [child.name for child in path.iterdir() if child.is_dir()]


def find_delivery(location: str, s3: Any, bucket: str, now: datetime, max_age_s: float) -> Delivery:
    """Resolve LOCATION to one complete, checked, fresh delivery of ``bucket``'s inventory."""
    if location.endswith("manifest.json"):
        manifest_location = location
        body, why = _complete(manifest_location, s3)
        if body is None:
            raise SafetyError(f"inventory {manifest_location} {why}; nothing can be planned from it")
    else:
        folder = location if location.endswith("/") else location + "/"
        dated = newest_first(_subfolders(folder, s3))
        if not dated:
            raise SafetyError(
                f"--inventory {location}: no dated deliveries (YYYY-MM-DDTHH-MMZ/) in it; give the folder "
                "of one inventory configuration (DEST/PREFIX/SOURCE-BUCKET/CONFIG-ID/) or a manifest.json"
            )
        body = None
        skipped = []
        for name in dated:
            manifest_location = folder + name + "/manifest.json"
            body, why = _complete(manifest_location, s3)
            if body is not None:
                break
            skipped.append(f"{name} {why}")
        if body is None:
            raise SafetyError(f"--inventory {location}: no complete delivery ({'; '.join(skipped[:3])})")
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SafetyError(f"inventory manifest {manifest_location}: not JSON ({exc})") from exc
    manifest = parse_manifest(document, manifest_location)
    check_delivery(manifest, manifest_location, bucket, now, max_age_s)
    local_root = (
        None if manifest_location.startswith("s3://") else _local_root(Path(manifest_location), manifest)
    )
    return Delivery(manifest_location, manifest, local_root)


def _local_root(manifest_path: Path, manifest: InventoryManifest) -> Path:
    """The folder that mirrors the destination bucket: the nearest ancestor holding the first data file."""
    first = manifest.files[0].key
    for folder in manifest_path.resolve().parents:
        if (folder / first).is_file():
            return folder
    raise SafetyError(
        f"inventory {manifest_path}: its data file {first!r} is in no folder above the manifest; copy the "
        "destination bucket whole (aws s3 sync s3://DEST ./DEST) and point --inventory into that copy"
    )


def verified_local(delivery: Delivery, entry: InventoryFile) -> Path:
    assert delivery.local_root is not None
    path = delivery.local_root / entry.key
    if not path.is_file():
        raise SafetyError(f"inventory data file {path} is missing: the copy of the delivery is incomplete")
    if _file_md5(path) != entry.md5:
        raise SafetyError(
            f"inventory data file {path} does not match the manifest's MD5: refusing to read it"
        )
    return path


def _verified_download(delivery: Delivery, entry: InventoryFile, s3: Any, path: Path) -> Path:
    bucket = delivery.manifest.destination_bucket
    try:
        s3.download_file(bucket, entry.key, str(path))
    except (ClientError, BotoCoreError) as exc:
        raise SafetyError(
            f"downloading inventory s3://{bucket}/{entry.key} failed: {aws_message(exc)}"
        ) from exc
    if _file_md5(path) != entry.md5:
        path.unlink(missing_ok=True)
        raise SafetyError(
            f"inventory data file s3://{bucket}/{entry.key} does not match the manifest's MD5: refusing to read it"
        )
    return path


def _each_data_file(delivery: Delivery, fetch: Callable[[int, InventoryFile], Path]) -> list[Path]:
    """``fetch`` of every data file, several at once, in the manifest's order; the first refusal in that
    order is raised (the files not started yet are not fetched)."""
    files = delivery.manifest.files
    return in_order(lambda index: fetch(index, files[index]), range(len(files)), FETCH_WORKERS)


def verified_local_files(delivery: Delivery) -> list[Path]:
    """A local copy's data files, each checked against the manifest's MD5."""
    return _each_data_file(delivery, lambda _, entry: verified_local(delivery, entry))


def all_data_files(delivery: Delivery, s3: Any, folder: Path) -> list[Path]:
    """Every data file as a verified local path (a download goes to ``folder``, under a name of its own
    even when two keys differ only by '/' and '_', and is checked whole against the manifest's MD5 before
    anything reads it). DuckDB then reads them all at once."""
    if delivery.local_root is not None:
        return verified_local_files(delivery)

    def download(index: int, entry: InventoryFile) -> Path:
        path = folder / f"{index:06d}-{entry.key.rsplit('/', 1)[-1]}"  # keeps .csv.gz for DuckDB
        return _verified_download(delivery, entry, s3, path)

    return _each_data_file(delivery, download)
