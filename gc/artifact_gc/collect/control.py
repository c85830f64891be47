"""State the GC keeps in its own bucket, under ``.artifact-gc/``: the apply lease and the registry history.

Both are written with S3 conditional writes, so two GC runs can never both believe they won:
* the lease (``lock.json``) is created with ``If-None-Match: *``; a stale or released lease is taken over
  with ``If-Match`` on the ETag that was read, and released by overwriting it (``If-Match`` again), so the
  runner role needs PutObject on the control prefix but no delete outside the GC prefixes;
* the registry history (``registry-history.json``) is rewritten with ``If-Match`` (or ``If-None-Match``
  the first time), keeping the last runs' reference counts for the shrink interlock.
The control prefix is never a GC candidate.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from artifact_gc.aws import aws_message, error_code
from artifact_gc.collect.planfile import isoformat, parse_iso
from artifact_gc.errors import AwsError, SafetyError

CONTROL_PREFIX = ".artifact-gc/"
LOCK_KEY = CONTROL_PREFIX + "lock.json"
HISTORY_KEY = CONTROL_PREFIX + "registry-history.json"
HISTORY_LENGTH = 50


def holder_name() -> str:
    """Who holds a lease: the CI job when there is one, else user@host:pid."""
    ci = os.environ.get("GITHUB_RUN_ID")
    where = f"github-run-{ci}" if ci else f"{os.environ.get('USER', 'unknown')}@{socket.gethostname()}"
    return f"{where}:{os.getpid()}"


@dataclass
class Lease:
    bucket: str
    holder: str
    etag: str
    expires_at: datetime


def _get(s3: Any, bucket: str, key: str) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON document at ``key`` and its ETag, or (None, None) if there is none."""
    try:
        answer = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "404"):
            return None, None
        raise AwsError(f"reading s3://{bucket}/{key} failed: {aws_message(exc)}") from exc
    except BotoCoreError as exc:
        raise AwsError(f"reading s3://{bucket}/{key} failed: {aws_message(exc)}") from exc
    try:
        document = json.loads(answer["Body"].read())
    except (json.JSONDecodeError, UnicodeDecodeError):
        document = {}
    return (document if isinstance(document, dict) else {}), answer.get("ETag")


def _put(s3: Any, bucket: str, key: str, document: dict[str, Any], etag: str | None) -> str | None:
    """Write only if the object is still at ``etag`` (or still absent when ``etag`` is None).

    Returns the new ETag, or None when someone else wrote first.
    """
    condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
    try:
        answer = s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=json.dumps(document).encode(),
            ContentType="application/json",
            **condition,
        )
    except ClientError as exc:
        if error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
            return None
        raise AwsError(f"writing s3://{bucket}/{key} failed: {aws_message(exc)}") from exc
    except BotoCoreError as exc:
        raise AwsError(f"writing s3://{bucket}/{key} failed: {aws_message(exc)}") from exc
    return answer.get("ETag")


def acquire(
    s3: Any, bucket: str, ttl: timedelta, now: datetime, purpose: str, holder: str | None = None
) -> Lease:
    """Take the bucket's GC lease or raise SafetyError (exit 3) naming who holds it."""
    holder = holder or holder_name()
    document = {
        "holder": holder,
        "purpose": purpose,
        "acquired_at": isoformat(now),
        "expires_at": isoformat(now + ttl),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }
    current, etag = _get(s3, bucket, LOCK_KEY)
    if current is not None and not current.get("released") and not _holder_is_dead(current):
        try:
            expires = parse_iso(str(current.get("expires_at")))
        except ValueError:
            expires = now  # an unreadable lease is treated as expired, but still taken over conditionally
        if expires > now:
            raise SafetyError(
                f"another GC run holds the lease on s3://{bucket}: {current.get('holder', '?')} "
                f"({current.get('purpose', '?')}) since {current.get('acquired_at', '?')}, until {current.get('expires_at', '?')}; "
                f"wait for it, or remove s3://{bucket}/{LOCK_KEY} if that run is known to be dead"
            )
    new_etag = _put(s3, bucket, LOCK_KEY, document, etag)
    if new_etag is None:
        raise SafetyError(
            f"another GC run took the lease on s3://{bucket} at the same moment: try again later"
        )
    return Lease(bucket, holder, new_etag, now + ttl)


def _holder_is_dead(lease: dict[str, Any]) -> bool:
    """A lease taken on this host by a process that no longer exists is stale (the run crashed)."""
    if lease.get("host") != socket.gethostname() or not isinstance(lease.get("pid"), int):
        return False  # another machine: only the expiry can tell
    try:
        os.kill(lease["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, under another user
    return False


def renew(s3: Any, lease: Lease, ttl: timedelta, now: datetime) -> None:
    """Extend our lease; SafetyError if it was taken over (we ran past its expiry)."""
    document = {
        "holder": lease.holder,
        "purpose": "renewed",
        "acquired_at": isoformat(now),
        "expires_at": isoformat(now + ttl),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }
    etag = _put(s3, lease.bucket, LOCK_KEY, document, lease.etag)
    if etag is None:
        raise SafetyError(
            f"the GC lease on s3://{lease.bucket} was taken over by another run: stopping before the next batch"
        )
    lease.etag, lease.expires_at = etag, now + ttl


def release(s3: Any, lease: Lease, now: datetime) -> bool:
    """Mark the lease released; False if someone else holds it now (nothing to release)."""
    return (
        _put(
            s3,
            lease.bucket,
            LOCK_KEY,
            {"holder": lease.holder, "released": True, "released_at": isoformat(now)},
            lease.etag,
        )
        is not None
    )


# ---------------------------------------------------------------------------------------------- history


def read_history(s3: Any, bucket: str) -> list[dict[str, Any]]:
    document, _ = _get(s3, bucket, HISTORY_KEY)
    runs = (document or {}).get("runs", [])
    return [r for r in runs if isinstance(r, dict)]


def record_run(s3: Any, bucket: str, entry: dict[str, Any], attempts: int = 5) -> None:
    """Append a successful run (read, then conditional write; retried if another run wrote in between)."""
    for _ in range(attempts):
        document, etag = _get(s3, bucket, HISTORY_KEY)
        runs = [*((document or {}).get("runs") or []), entry][-HISTORY_LENGTH:]
        if _put(s3, bucket, HISTORY_KEY, {"runs": runs}, etag) is not None:
            return
    raise AwsError(f"could not record the run in s3://{bucket}/{HISTORY_KEY}: it kept changing under us")
