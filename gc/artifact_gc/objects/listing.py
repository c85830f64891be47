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
    try:
        if versioned:
            yield from _version_pages(s3, bucket, prefix)
        else:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                yield [_from_listing(entry) for entry in page.get("Contents", ())]
    except ClientError as exc:
        raise AwsError(f"listing s3://{bucket}/{prefix} failed: {aws_message(exc)}") from exc
    except BotoCoreError as exc:
        raise AwsError(f"listing s3://{bucket}/{prefix} failed: {aws_message(exc)}") from exc


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


def _version_pages(s3: Any, bucket: str, prefix: str) -> Iterator[list[ObjectInfo]]:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        # Versions and delete markers come in separate lists; only the latest entry of a key matters.
        latest_markers = {m["Key"] for m in page.get("DeleteMarkers", ()) if m.get("IsLatest")}
        out = []
        for version in page.get("Versions", ()):
            if version.get("IsLatest") and version["Key"] not in latest_markers:
                out.append(_from_listing(version, current_version_id=version.get("VersionId")))
        yield out
