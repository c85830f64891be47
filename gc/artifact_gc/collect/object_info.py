"""Plain records of S3 objects as the GC sees them: no boto3 here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """The current version of one object, as listed.

    ``version_id`` is the version a deletion targets: ``None`` means "the current version" (plain delete,
    which adds a delete marker on a versioned bucket). ``current_version_id`` records which version was
    current when listed; on a bucket whose versioning is suspended S3 reports it as the string ``"null"``,
    which is not Python's ``None``.
    """

    key: str
    size: int
    last_modified: datetime  # timezone-aware, UTC
    etag: str
    storage_class: str = "STANDARD"
    version_id: str | None = None
    current_version_id: str | None = None
