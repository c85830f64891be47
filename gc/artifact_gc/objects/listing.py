"""List a bucket's current objects, page by page, as ObjectInfo records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from artifact_gc.aws import aws_message
from artifact_gc.collect.object_info import ObjectInfo
from artifact_gc.errors import AwsError, UsageError


def bucket_versioning(s3: Any, bucket: str) -> str:
    """``Enabled``, ``Suspended`` or ``Disabled`` (never versioned)."""
    try:
        return s3.get_bucket_versioning(Bucket=bucket).get("Status") or "Disabled"
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in ("NoSuchBucket", "404"):
            raise UsageError(
                f"bucket {bucket!r} does not exist (check --bucket / gc_config.bucket and the account)"
            ) from exc
        raise AwsError(f"cannot read the versioning of bucket {bucket!r}: {aws_message(exc)}") from exc
    except NoCredentialsError:
        raise  # said as what it is: no credentials, not an unreachable S3
    except BotoCoreError as exc:
        raise AwsError(f"cannot reach S3 for bucket {bucket!r}: {aws_message(exc)}") from exc


def list_pages(s3: Any, bucket: str, prefix: str, versioned: bool) -> Iterator[list[ObjectInfo]]:
    """Yield one list of current objects per listing page, in key order.

    Unversioned buckets use ListObjectsV2. Versioned ones use ListObjectVersions and keep each key's
    latest entry when it is a version (a latest delete marker means the object is already deleted); the
    plan then targets the current version (``version_id`` None) and records its id beside it.
    """
    operation = "list_object_versions" if versioned else "list_objects_v2"
    try:
        for page in s3.get_paginator(operation).paginate(Bucket=bucket, Prefix=prefix):
            yield current_objects(page, versioned)
    except (ClientError, BotoCoreError) as exc:
        raise AwsError(f"listing s3://{bucket}/{prefix} failed: {aws_message(exc)}") from exc


def current_objects(page: dict[str, Any], versioned: bool) -> list[ObjectInfo]:
    """The current objects of one ListObjectsV2 or ListObjectVersions page, in key order.

    Of a version listing only each key's latest entry counts, and only when it is a version: a latest
    delete marker means the object is already deleted (versions and markers come in separate lists)."""
    if not versioned:
        return [_from_listing(entry) for entry in page.get("Contents", ())]
    latest_markers = {m["Key"] for m in page.get("DeleteMarkers", ()) if m.get("IsLatest")}
    return [
        _from_listing(version, current_version_id=version.get("VersionId"))
        for version in page.get("Versions", ())
        if version.get("IsLatest") and version["Key"] not in latest_markers
    ]


def _from_listing(entry: dict[str, Any], current_version_id: str | None = None) -> ObjectInfo:
    return ObjectInfo(
        key=entry["Key"],
        size=int(entry.get("Size", 0)),
        last_modified=entry["LastModified"].astimezone(timezone.utc),
        etag=entry.get("ETag", ""),
        storage_class=entry.get("StorageClass") or "STANDARD",
        version_id=None,
        current_version_id=current_version_id,
    )
