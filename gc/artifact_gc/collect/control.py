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

import hashlib
import json
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from artifact_gc.aws import aws_message, error_code, in_order
from artifact_gc.collect.planfile import isoformat, parse_iso
from artifact_gc.collect.safety import check_baselines_shrink
from artifact_gc.errors import AwsError, SafetyError
from artifact_gc.registry.sources import ALL_SOURCES

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
#
# The shrink interlock compares each run with the runs before it. Its evidence lives in objects whose
# names contain "history", one per baseline: each registry source and the sources together, each for one
# scope, so two GC configurations sharing a bucket never overwrite each other's baseline. The evidence is
# read strictly: an unreadable or malformed history refuses the run (exit 3) until it is repaired or reset
# on purpose with ``artifact-gc reset-registry-history``; a missing one is a first run.

HISTORY_FOLDER = CONTROL_PREFIX + "registry-history/"
HISTORY_RESET_COMMAND = "artifact-gc reset-registry-history --bucket {bucket}"
BASELINES_AT_ONCE = 8  # one baseline per registry source and one for all: a handful of objects


def baseline_key(identity: Any, prefixes: Sequence[str]) -> str:
    """The history object of one baseline: a registry source (or all of them) over one scope."""
    canonical = json.dumps({"identity": identity, "scope": sorted(prefixes)}, sort_keys=True)
    return HISTORY_FOLDER + hashlib.sha256(canonical.encode()).hexdigest()[:32] + ".json"


def _bad_history(bucket: str, key: str, why: str) -> SafetyError:
    return SafetyError(
        f"the registry history s3://{bucket}/{key} {why}: the registry-shrink interlock cannot compare, so "
        f"nothing is deleted; repair it, or reset it on purpose with `{HISTORY_RESET_COMMAND.format(bucket=bucket)}`"
    )


def read_history(s3: Any, bucket: str, key: str = HISTORY_KEY) -> list[dict[str, Any]]:
    """The runs recorded at ``key`` ([] when there is none); SafetyError when it cannot be trusted."""
    return _read_history(s3, bucket, key)[0]


def _read_history(s3: Any, bucket: str, key: str) -> tuple[list[dict[str, Any]], str | None]:
    try:
        answer = s3.get_object(Bucket=bucket, Key=key)
        body = answer["Body"].read()
    except ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "404"):
            return [], None
        raise _bad_history(bucket, key, f"cannot be read ({aws_message(exc)})") from exc
    except BotoCoreError as exc:
        raise _bad_history(bucket, key, f"cannot be read ({aws_message(exc)})") from exc
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _bad_history(bucket, key, "is not JSON") from exc
    runs = document.get("runs") if isinstance(document, dict) else None
    if not isinstance(runs, list):
        raise _bad_history(bucket, key, "has no list of runs")
    for index, run in enumerate(runs):
        references = run.get("references") if isinstance(run, dict) else None
        if isinstance(references, bool) or not isinstance(references, int) or references < 0:
            raise _bad_history(bucket, key, f"run {index} has no whole reference count")
    return runs, answer.get("ETag")


def read_baselines(
    s3: Any, bucket: str, identities: Mapping[str, Any], prefixes: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Recorded runs per baseline name (each source's name, and ``ALL_SOURCES``), strictly read; the
    objects are read at once (a far-away bucket pays one round trip, not one per source), and the first
    baseline in order that cannot be read is the one refused."""
    names = list(identities)
    runs = in_order(
        lambda name: read_history(s3, bucket, baseline_key(identities[name], prefixes)),
        names,
        BASELINES_AT_ONCE,
    )
    return dict(zip(names, runs, strict=True))


def record_run(
    s3: Any, bucket: str, entry: dict[str, Any], attempts: int = 5, key: str = HISTORY_KEY
) -> None:
    """Append a successful run (read, then conditional write; retried if another run wrote in between)."""
    for _ in range(attempts):
        runs, etag = _read_history(s3, bucket, key)
        if _put(s3, bucket, key, {"runs": [*runs, entry][-HISTORY_LENGTH:]}, etag) is not None:
            return
    raise AwsError(f"could not record the run in s3://{bucket}/{key}: it kept changing under us")


def _etag_of(s3: Any, bucket: str, key: str) -> tuple[bool, str | None]:
    try:
        return True, s3.head_object(Bucket=bucket, Key=key).get("ETag")
    except ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
            return False, None
        raise AwsError(f"reading s3://{bucket}/{key} failed: {aws_message(exc)}") from exc
    except BotoCoreError as exc:
        raise AwsError(f"reading s3://{bucket}/{key} failed: {aws_message(exc)}") from exc


def reset_history(s3: Any, bucket: str, now: datetime, who: str) -> list[str]:
    """Overwrite every registry-history object with an empty, valid one; return the keys reset.

    Overwriting (not deleting) keeps the runner's IAM free of deletes on the control prefix, and leaves the
    old evidence as a noncurrent version on a versioned bucket.
    """
    keys: list[str] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=HISTORY_KEY.rsplit(".", 1)[0]
        ):
            keys += [entry["Key"] for entry in page.get("Contents", ()) if "history" in entry["Key"]]
    except (ClientError, BotoCoreError) as exc:
        raise AwsError(f"listing s3://{bucket}/{HISTORY_FOLDER} failed: {aws_message(exc)}") from exc
    for key in keys:
        _, etag = _etag_of(s3, bucket, key)
        if _put(s3, bucket, key, {"runs": [], "reset_at": isoformat(now), "reset_by": who}, etag) is None:
            raise AwsError(f"s3://{bucket}/{key} changed while it was being reset: run the reset again")
    return keys


def check_shrink(
    s3: Any,
    bucket: str,
    baselines: Mapping[str, tuple[Any, int, str]],
    prefixes: Sequence[str],
    max_shrink: float,
) -> tuple[str | None, dict[str, Any] | None]:
    """Read each baseline's history and compare: (reason to refuse or None, the last run of all sources).

    Before any per-source history exists, the bucket-wide history of earlier versions is the baseline of
    all sources together, so an upgrade does not start without one.
    """
    histories = read_baselines(s3, bucket, {name: b[0] for name, b in baselines.items()}, prefixes)
    if not any(histories.values()):
        histories[ALL_SOURCES] = read_history(s3, bucket, HISTORY_KEY)
    reason = check_baselines_shrink(histories, {name: b[1] for name, b in baselines.items()}, max_shrink)
    together = histories.get(ALL_SOURCES) or []
    return reason, (together[-1] if together else None)


def record_baselines(
    s3: Any,
    bucket: str,
    baselines: Mapping[str, tuple[Any, int, str]],
    prefixes: Sequence[str],
    entry: Mapping[str, Any],
) -> None:
    """Append this successful run to every baseline it belongs to (each its own object, written at once)."""
    in_order(
        lambda baseline: record_run(
            s3,
            bucket,
            {**entry, "references": baseline[1], "fingerprint": baseline[2]},
            key=baseline_key(baseline[0], prefixes),
        ),
        list(baselines.values()),
        BASELINES_AT_ONCE,
    )
