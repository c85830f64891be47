"""``artifact-gc apply PLAN``: delete what a plan lists, and nothing that became precious since.

Order of defences, each failing closed:
1. the plan header must match any restated config, be young enough, and come from this account;
2. every registry source in the header is read again; candidates it now protects are dropped;
3. the remaining candidates must stay within the delete limits;
4. just before each batch, its objects are re-checked (ETag, size, LastModified) and changed ones dropped;
5. each delete carries the planned ETag, so S3 itself refuses an object rewritten in the last moment.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from artifact_gc.aws import AwsClients, aws_message, error_code
from artifact_gc.collect.control import check_shrink, record_baselines
from artifact_gc.collect.journal import Journal, audited, pending_items, plan_digest
from artifact_gc.collect.object_info import ObjectInfo
from artifact_gc.collect.planfile import Candidate, isoformat, iter_candidates, parse_iso, read_header
from artifact_gc.collect.quarantine import (
    DEFAULT_TAG,
    add_tags,
    ledger_entries,
    rescue_referenced,
    write_ledger,
)
from artifact_gc.collect.safety import (
    check_account,
    check_delete_limits,
    check_plan_age,
    check_registry_shrink,
    check_restated_config,
)
from artifact_gc.config import GcConfig
from artifact_gc.errors import SafetyError, UsageError
from artifact_gc.objects.listing import bucket_versioning
from artifact_gc.refs.reachability import ReferenceSet
from artifact_gc.registry.sources import RegistrySnapshot, collect_references, source_from_spec

MAX_BATCH = 1000  # DeleteObjects takes at most 1,000 keys
RECHECK_MAX_PAGES = 3  # a re-check listing longer than this falls back to one HEAD per remaining key
RETRYABLE_CODES = frozenset(
    {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "503", "500"}
)


@dataclass(frozen=True)
class ApplyOptions:
    audit_path: Path
    max_plan_age_seconds: float = 24 * 3600
    max_delete_fraction: float = 0.5
    max_delete_bytes: int | None = None
    allow_empty_registry: bool = False
    max_registry_shrink: float = 0.1
    accept_registry_shrink: bool = False
    purge_versions: bool = False
    mode: str = "delete"  # or "quarantine": tag for the lifecycle's quarantine rule instead of deleting
    quarantine_tag: tuple[str, str] = DEFAULT_TAG
    scan_segments: int = 1
    scan_page_size: int | None = None
    batch_size: int = MAX_BATCH
    batch_attempts: int = 5  # whole-batch attempts on top of botocore's per-request retries
    # Re-read every registry source before the next batch once this long has passed since the last read
    # (0: before every batch). Apply also re-reads once after the confirmation, which can wait forever.
    registry_refresh_seconds: float = 300.0
    concurrency: int = 1  # batches re-checked and deleted at once


@dataclass
class PreparedApply:
    """Everything checked before asking for confirmation."""

    plan_path: Path
    header: dict[str, Any]
    snapshot: RegistrySnapshot
    versioned: bool
    to_delete: int
    to_delete_bytes: int
    newly_protected: list[str]
    shrink_reason: str | None = None  # a shrink that --accept-registry-shrink let through
    # versioning suspended: a delete marker replaces a "null" current version, so those deletes are permanent
    permanent_null_versions: int = 0
    sources: list[Any] = field(default_factory=list)  # the plan's registry sources, re-read during apply


@dataclass
class ApplyResult:
    deleted: int = 0
    deleted_bytes: int = 0
    delete_markers: int = 0
    versions_deleted: int = 0
    newly_protected: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # rewritten since the plan: kept
    gone: list[str] = field(default_factory=list)  # already absent: nothing to do
    resumed: int = 0  # skipped: an earlier, interrupted run of this plan already deleted them
    recovered: list[str] = field(default_factory=list)  # deleted by that run before it could audit them
    quarantined: int = 0  # tagged for the quarantine rule (--mode quarantine)
    rescued: list[str] = field(default_factory=list)  # quarantined earlier, referenced again: untagged
    failed: list[tuple[str, str]] = field(default_factory=list)  # (key, reason)

    def merge(self, part: ApplyResult) -> None:
        """Add what one batch did (batches in flight at once each count into their own result)."""
        for name in (
            "deleted",
            "deleted_bytes",
            "delete_markers",
            "versions_deleted",
            "resumed",
            "quarantined",
        ):
            setattr(self, name, getattr(self, name) + getattr(part, name))
        for name in ("newly_protected", "changed", "gone", "recovered", "rescued", "failed"):
            getattr(self, name).extend(getattr(part, name))


def prepare_apply(
    plan_path: Path, restated: GcConfig, options: ApplyOptions, clients: AwsClients, now: datetime
) -> PreparedApply:
    """Run every check that does not delete; raise SafetyError (exit 3) or UsageError (exit 2) on doubt."""
    header = read_header(plan_path)
    try:
        bucket: str = header["bucket"]
        created_at = parse_iso(header["created_at"])
        scope = header["scope"]
        prefixes: list[str] = scope["prefixes"]
        cutoff = parse_iso(scope["cutoff"])
        totals = header["totals"]
        source_specs = header["registry"]["sources"]
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(
            f"plan {plan_path}: header is incomplete ({exc}); re-run `artifact-gc plan`"
        ) from exc
    if options.batch_size < 1 or options.batch_size > MAX_BATCH:
        raise UsageError(f"--batch-size {options.batch_size}: must be between 1 and {MAX_BATCH}")
    for reason in (
        check_restated_config(header, restated),
        check_plan_age(created_at, now, options.max_plan_age_seconds),
    ):
        if reason:
            raise SafetyError(reason)
    if header.get("account") is not None:
        reason = check_account(header["account"], clients.account_id())
        if reason:
            raise SafetyError(reason)
    versioning = bucket_versioning(clients.s3, bucket)
    versioned = versioning != "Disabled"
    if versioned != (header.get("versioning", "Disabled") != "Disabled"):
        raise SafetyError(
            f"bucket {bucket!r} versioning is {versioning} now but was {header.get('versioning')} when planned: plan again"
        )
    if options.mode not in ("delete", "quarantine"):
        raise UsageError(f"--mode {options.mode!r}: choose delete or quarantine")
    if options.mode == "quarantine" and options.purge_versions:
        raise UsageError("--purge-versions deletes; --mode quarantine only tags: choose one")
    if options.purge_versions and not versioned:
        raise UsageError(
            f"--purge-versions: bucket {bucket!r} is not versioned; a plain apply already deletes for good"
        )

    sources = [
        source_from_spec(
            spec,
            clients.dynamodb,
            clients.s3,
            options.scan_segments,
            options.scan_page_size,
            clients.client("sagemaker") if spec.get("type") == "sagemaker" else None,
        )
        for spec in source_specs
    ]
    access_points = header["registry"].get("access_points") or {}
    snapshot = collect_references(
        sources, bucket, clients.s3_endpoint_hosts(), options.allow_empty_registry, access_points
    )
    shrink, _ = check_shrink(clients.s3, bucket, snapshot.baselines(), prefixes, options.max_registry_shrink)
    if shrink and not options.accept_registry_shrink:
        raise SafetyError(shrink)

    tally = tally_candidates(
        plan_path, iter_candidates(plan_path), snapshot.refs, prefixes, cutoff, versioning, totals
    )
    reason = check_delete_limits(
        tally.to_delete,
        tally.to_delete_bytes,
        int(totals.get("objects", 0)),
        options.max_delete_fraction,
        options.max_delete_bytes,
    )
    if reason:
        raise SafetyError(reason)
    return PreparedApply(
        plan_path,
        header,
        snapshot,
        versioned,
        tally.to_delete,
        tally.to_delete_bytes,
        tally.newly_protected,
        shrink_reason=shrink,
        sources=sources,
        permanent_null_versions=tally.permanent_null,
    )


@dataclass
class PlanTally:
    """What a plan would delete once the registry as read now has protected what it references."""

    to_delete: int = 0
    to_delete_bytes: int = 0
    newly_protected: list[str] = field(default_factory=list)
    permanent_null: int = 0  # current versions that are the null version of a suspended bucket


def tally_candidates(
    plan_path: Path,
    candidates: Iterable[Candidate],
    refs: ReferenceSet,
    prefixes: list[str],
    cutoff: datetime,
    versioning: str,
    totals: dict[str, Any],
) -> PlanTally:
    """Walk the plan's candidates once: refuse an edited plan (out of scope, too young, repeated or out of
    key order, a count that is not the header's), and count what the registry no longer protects."""
    tally = PlanTally()
    count = 0
    previous: str | None = None  # plans are written in key order, so a repeated key is the previous one
    for candidate in candidates:
        count += 1
        obj = candidate.obj
        _check_candidate_in_plan_scope(plan_path, obj, prefixes, cutoff)
        if previous is not None and obj.key <= previous:
            raise UsageError(
                f"plan {plan_path}: candidate {obj.key!r} is "
                + ("listed twice" if obj.key == previous else f"out of key order (after {previous!r})")
                + ": the file was edited (deleting a key twice leaves two delete markers that one restore "
                "cannot undo); plan again"
            )
        previous = obj.key
        if refs.protects(obj.key):
            tally.newly_protected.append(obj.key)
        else:
            tally.to_delete += 1
            tally.to_delete_bytes += obj.size
            tally.permanent_null += versioning == "Suspended" and obj.current_version_id in (None, "null")
    if count != totals.get("candidates"):
        raise UsageError(
            f"plan {plan_path}: holds {count} candidates but its header says {totals.get('candidates')}: "
            "the file is truncated or edited; plan again"
        )
    return tally


def _check_candidate_in_plan_scope(
    plan_path: Path, obj: ObjectInfo, prefixes: list[str], cutoff: datetime
) -> None:
    """A candidate outside the plan's own scope or younger than its cutoff means an edited plan: refuse."""
    if not any(obj.key.startswith(prefix) for prefix in prefixes):
        raise UsageError(
            f"plan {plan_path}: candidate {obj.key!r} lies outside the plan's scope {prefixes}; plan again"
        )
    if obj.last_modified >= cutoff:
        raise UsageError(
            f"plan {plan_path}: candidate {obj.key!r} is younger than the plan's cutoff; plan again"
        )


BatchHook = Callable[[ApplyResult], None]


def reread_registry(prepared: PreparedApply, clients: AwsClients, options: ApplyOptions) -> RegistrySnapshot:
    """Read every source of the plan again; refuse if the registry shrank since apply started checking."""
    snapshot = collect_references(
        prepared.sources,
        prepared.header["bucket"],
        clients.s3_endpoint_hosts(),
        options.allow_empty_registry,
        prepared.header["registry"].get("access_points") or {},
    )
    if not options.accept_registry_shrink:
        earlier = [{"time": "the start of this apply", "references": prepared.snapshot.refs.reference_count}]
        reason = check_registry_shrink(earlier, snapshot.refs.reference_count, options.max_registry_shrink)
        if reason:
            raise SafetyError(f"{reason} (the registry changed while apply ran; what was deleted is audited)")
    return snapshot


def execute_apply(
    prepared: PreparedApply,
    clients: AwsClients,
    options: ApplyOptions,
    sleep: Callable[[float], None] = time.sleep,
    on_batch: BatchHook | None = None,
    before_batch: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ApplyResult:
    """Delete the prepared candidates batch by batch, writing each deletion to the audit log.

    The registry is read again first (the confirmation may have waited for hours), and again before a
    batch whenever ``options.registry_refresh_seconds`` have passed; candidates it now protects are kept
    and reported. ``before_batch`` runs before each batch is re-checked (the CLI renews the GC lease
    there, and stops if it was lost)."""
    result = ApplyResult(newly_protected=list(prepared.newly_protected))
    kept = set(result.newly_protected)
    prepared.snapshot = reread_registry(prepared, clients, options)
    last_read = clock()
    refs = prepared.snapshot.refs
    s3 = clients.s3
    bucket = prepared.header["bucket"]
    plan_id = plan_digest(prepared.plan_path)
    journal_path = options.audit_path.with_name(options.audit_path.name + ".journal")
    with AuditLog(options.audit_path, bucket, prepared) as audit, Journal(journal_path, plan_id) as journal:
        # quarantined objects that the registry references again are released first
        result.rescued = rescue_referenced(s3, bucket, refs, options.quarantine_tag)
        in_doubt = pending_items(journal_path, plan_id)
        if in_doubt:
            _recover(s3, prepared, in_doubt, audit, result)
        done = audited(options.audit_path, bucket, str(prepared.header.get("created_at")), options.mode)
        tagged: list[dict[str, Any]] = []

        def still_to_do(candidate: Candidate) -> bool:
            if candidate.obj.key in done:
                result.resumed += 1
                return False
            return True

        lock = threading.Lock()  # the journal and the audit log are written by one batch at a time

        def process(batch: list[Candidate]) -> tuple[ApplyResult, list[dict[str, Any]]]:
            """Re-check one batch and delete (or tag) what is unchanged; runs in a worker thread."""
            part = ApplyResult()
            unchanged = _recheck(s3, bucket, batch, part)
            if options.mode == "quarantine":
                items = [(c.obj.key, c.obj.current_version_id) for c in unchanged]
                with lock:
                    batch_id = journal.intent(
                        [{"Key": k, "VersionId": v} if v else {"Key": k} for k, v in items]
                    )
                outcome = add_tags(s3, bucket, items, options.quarantine_tag, datetime.now(timezone.utc))
                part.failed += outcome.failed
                with lock:
                    audit.write(
                        outcome.tagged, {c.obj.key: c.obj for c in unchanged}, part, action="quarantine"
                    )
                    journal.done(batch_id)
                return part, outcome.tagged
            if options.purge_versions:
                items, planned = _all_versions(s3, bucket, unchanged, part)
            else:
                items = [{"Key": c.obj.key, "ETag": c.obj.etag} for c in unchanged]
                planned = {c.obj.key: c.obj for c in unchanged}
            for start in range(0, len(items), MAX_BATCH):
                chunk = items[start : start + MAX_BATCH]
                with lock:
                    batch_id = journal.intent(chunk)
                deleted = _delete_with_retries(
                    s3, bucket, chunk, prepared.versioned, options.batch_attempts, sleep, part
                )
                with lock:
                    audit.write(deleted, planned, part)
                    journal.done(batch_id)
            return part, []

        in_flight: deque[Future[tuple[ApplyResult, list[dict[str, Any]]]]] = deque()

        def absorb(future: Future[tuple[ApplyResult, list[dict[str, Any]]]]) -> None:
            part, part_tagged = future.result()
            result.merge(part)
            tagged.extend(part_tagged)

        def collect() -> None:
            absorb(in_flight.popleft())
            if on_batch:
                on_batch(result)

        with ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool:
            try:
                for planned_batch in _batches(
                    (c for c in iter_candidates(prepared.plan_path) if still_to_do(c)), options.batch_size
                ):
                    # a free worker first: the registry filter below must be as fresh as the deletion
                    while len(in_flight) >= max(1, options.concurrency):
                        collect()
                    if before_batch:
                        before_batch()
                    if clock() - last_read >= options.registry_refresh_seconds:
                        prepared.snapshot = reread_registry(prepared, clients, options)
                        last_read = clock()
                        refs = prepared.snapshot.refs
                    batch = _unprotected(planned_batch, refs, kept, result)
                    if not batch:
                        continue
                    in_flight.append(pool.submit(process, batch))
                while in_flight:
                    collect()
            finally:
                # stopping (lease lost, registry shrank, an error): the batches in flight finish and are
                # audited; count what they did before the reason is raised
                for future in in_flight:
                    with contextlib.suppress(Exception):
                        absorb(future)
        write_ledger(
            s3,
            bucket,
            str(prepared.header.get("created_at")).replace(":", ""),
            ledger_entries(tagged, datetime.now(timezone.utc)),
        )
    if not result.failed:
        # The registry as last read becomes the baseline the next run's shrink interlock compares with.
        record_baselines(
            s3,
            bucket,
            prepared.snapshot.baselines(),
            prepared.header["scope"]["prefixes"],
            {
                "time": isoformat(datetime.now(timezone.utc)),
                "plan_created_at": prepared.header.get("created_at"),
                "deleted": result.deleted,
                "accepted_shrink": bool(options.accept_registry_shrink and prepared.shrink_reason),
            },
        )
    return result


def _recover(
    s3: Any, prepared: PreparedApply, in_doubt: list[dict[str, Any]], audit: AuditLog, result: ApplyResult
) -> None:
    """Audit the in-doubt items of an interrupted run that are gone from the bucket: it deleted them.

    Items still there are left alone: the normal pass re-checks and deletes them.
    """
    bucket = prepared.header["bucket"]
    keys = {item["Key"] for item in in_doubt}
    planned = {c.obj.key: c.obj for c in iter_candidates(prepared.plan_path) if c.obj.key in keys}
    recovered: list[dict[str, Any]] = []
    for item in in_doubt:
        key, version = item["Key"], item.get("VersionId")
        if key not in planned:
            continue
        try:
            pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)
            entries = [
                e | {"_marker": marker}
                for page in pages
                for marker, listing in ((False, "Versions"), (True, "DeleteMarkers"))
                for e in page.get(listing, ())
                if e["Key"] == key
            ]
        except (ClientError, BotoCoreError) as exc:
            result.failed.append(
                (key, f"cannot tell whether the interrupted run deleted it: {aws_message(exc)}")
            )
            continue
        if version is not None:  # --purge-versions: that version is either there or deleted for good
            if not any(e["VersionId"] == version for e in entries):
                recovered.append({"Key": key, "VersionId": version})
            continue
        latest = next((e for e in entries if e.get("IsLatest")), None)
        if latest is None:
            recovered.append({"Key": key})  # unversioned and gone
        elif latest["_marker"]:
            recovered.append({"Key": key, "DeleteMarker": True, "DeleteMarkerVersionId": latest["VersionId"]})
    audit.write(recovered, planned, result, recovered=True)
    result.recovered += [entry["Key"] for entry in recovered]


def _batches(candidates: Iterator[Candidate], size: int) -> Iterator[list[Candidate]]:
    """Batches of at most ``size`` candidates, never spanning two scope prefixes: a batch's re-check lists
    under the keys' common prefix, and a least-privilege role may list only inside the scope prefixes."""
    batch: list[Candidate] = []
    for candidate in candidates:
        if batch and (len(batch) == size or candidate.prefix != batch[0].prefix):
            yield batch
            batch = []
        batch.append(candidate)
    if batch:
        yield batch


def _unprotected(
    batch: list[Candidate], refs: ReferenceSet, kept: set[str], result: ApplyResult
) -> list[Candidate]:
    """The candidates the registry as last read does not protect; the others are kept and reported once."""
    unprotected = []
    for candidate in batch:
        if not refs.protects(candidate.obj.key):
            unprotected.append(candidate)
        elif candidate.obj.key not in kept:
            kept.add(candidate.obj.key)
            result.newly_protected.append(candidate.obj.key)
    return unprotected


def _same_object(planned: ObjectInfo, etag: str, size: int, last_modified: datetime) -> bool:
    """Unchanged means same ETag, size and LastModified (to the second: HEAD has no milliseconds)."""
    return (
        planned.etag == etag
        and planned.size == size
        and int(planned.last_modified.timestamp()) == int(last_modified.astimezone(timezone.utc).timestamp())
    )


def _recheck(s3: Any, bucket: str, batch: list[Candidate], result: ApplyResult) -> list[Candidate]:
    """Return the candidates whose objects are unchanged since planning; record the others.

    A fresh listing costs one request per 1,000 keys when the batch is dense; when its keys are spread
    over more than RECHECK_MAX_PAGES pages, the rest are checked with one HEAD each.
    """
    keys = sorted(c.obj.key for c in batch)
    state: dict[str, tuple[str, int, datetime] | None] = {}
    listed_up_to: str | None = None
    exhausted = False
    try:
        paginator = s3.get_paginator("list_objects_v2")
        # S3 prefixes are strings, not paths: the character-wise common prefix is the one we want.
        common = os.path.commonprefix(keys)  # noqa: RUF071
        pages = paginator.paginate(Bucket=bucket, Prefix=common, StartAfter=keys[0][:-1])
        wanted = set(keys)
        exhausted = True
        for number, page in enumerate(pages, start=1):
            contents = page.get("Contents", ())
            for entry in contents:
                if entry["Key"] in wanted:
                    state[entry["Key"]] = (
                        entry.get("ETag", ""),
                        int(entry.get("Size", 0)),
                        entry["LastModified"],
                    )
            if contents:
                listed_up_to = contents[-1]["Key"]
            if listed_up_to is not None and listed_up_to >= keys[-1]:
                break
            if number >= RECHECK_MAX_PAGES and page.get("IsTruncated"):
                exhausted = False
                break
    except (ClientError, BotoCoreError) as exc:
        for candidate in batch:
            result.failed.append((candidate.obj.key, f"re-check listing failed: {aws_message(exc)}"))
        return []
    for key in keys:
        if key in state or exhausted or (listed_up_to is not None and key <= listed_up_to):
            state.setdefault(key, None)
    unchanged = []
    for candidate in batch:
        obj = candidate.obj
        if obj.key not in state:
            try:
                head = s3.head_object(Bucket=bucket, Key=obj.key)
                state[obj.key] = (
                    head.get("ETag", ""),
                    int(head.get("ContentLength", 0)),
                    head["LastModified"],
                )
            except ClientError as exc:
                if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                    state[obj.key] = None
                else:
                    result.failed.append((obj.key, f"re-check failed: {aws_message(exc)}"))
                    continue
            except BotoCoreError as exc:
                result.failed.append((obj.key, f"re-check failed: {aws_message(exc)}"))
                continue
        current = state[obj.key]
        if current is None:
            result.gone.append(obj.key)
        elif _same_object(obj, *current):
            unchanged.append(candidate)
        else:
            result.changed.append(obj.key)
    return unchanged


def _all_versions(
    s3: Any, bucket: str, unchanged: list[Candidate], result: ApplyResult
) -> tuple[list[dict[str, Any]], dict[str, ObjectInfo]]:
    """For --purge-versions: every version and delete marker of each key, if its latest is still as planned."""
    items: list[dict[str, Any]] = []
    planned: dict[str, ObjectInfo] = {}
    for candidate in unchanged:
        obj = candidate.obj
        try:
            entries = []
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=obj.key):
                entries += [v for v in page.get("Versions", ()) if v["Key"] == obj.key]
                entries += [
                    {**m, "_marker": True} for m in page.get("DeleteMarkers", ()) if m["Key"] == obj.key
                ]
        except (ClientError, BotoCoreError) as exc:
            result.failed.append((obj.key, f"listing its versions failed: {aws_message(exc)}"))
            continue
        latest = [e for e in entries if e.get("IsLatest")]
        if (
            len(latest) != 1
            or latest[0].get("_marker")
            or not _same_object(
                obj, latest[0].get("ETag", ""), int(latest[0].get("Size", 0)), latest[0]["LastModified"]
            )
        ):
            result.changed.append(obj.key)
            continue
        planned[obj.key] = obj
        items += [{"Key": obj.key, "VersionId": e["VersionId"]} for e in entries]
    return items, planned


def _delete_with_retries(
    s3: Any,
    bucket: str,
    items: list[dict[str, Any]],
    versioned: bool,
    attempts: int,
    sleep: Callable[[float], None],
    result: ApplyResult,
) -> list[dict[str, Any]]:
    """DeleteObjects one chunk; retry the whole pending set on throttling or transport failure.

    Returns the ``Deleted`` entries. Quiet mode is used where nothing needs reading back; on versioned
    buckets the verbose answer carries each new delete marker's version id, which undo needs.
    """
    pending = list(items)
    deleted: list[dict[str, Any]] = []
    last_error = "unknown error"
    for attempt in range(attempts):
        if attempt:
            sleep(min(30.0, 2.0**attempt))
        try:
            response = s3.delete_objects(Bucket=bucket, Delete={"Objects": pending, "Quiet": not versioned})
        except ClientError as exc:
            last_error = aws_message(exc)
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if error_code(exc) in RETRYABLE_CODES or status >= 500:
                continue
            break
        except BotoCoreError as exc:
            last_error = aws_message(exc)
            continue
        errors = {(e.get("Key"), e.get("VersionId")): e for e in response.get("Errors", ())}
        confirmed = {(d.get("Key"), d.get("VersionId")): d for d in response.get("Deleted", ())}
        retry = []
        for item in pending:
            key, version = item["Key"], item.get("VersionId")
            # Some S3-compatible stores leave VersionId out of an error entry: match on the key alone.
            error = errors.get((key, version)) or (errors.get((key, None)) if version else None)
            if error is None:
                if not versioned:
                    deleted.append(item)  # Quiet mode: only failures are reported
                elif (key, version) in confirmed:
                    deleted.append(confirmed[(key, version)])
                else:
                    # Every item must be accounted for: no answer is not a deletion.
                    result.failed.append((key, "S3 reported it neither deleted nor failed"))
                continue
            code = error.get("Code", "")
            if code in RETRYABLE_CODES:
                retry.append(item)
                last_error = f"{code}: {error.get('Message', '')}"
            elif code == "PreconditionFailed":
                result.changed.append(key)
            elif code == "NoSuchKey":
                result.gone.append(key)
            else:
                result.failed.append((key, f"{code}: {error.get('Message', '')}".rstrip(": ")))
        pending = retry
        if not pending:
            return deleted
    for item in pending:
        result.failed.append((item["Key"], f"delete failed after {attempts} attempts: {last_error}"))
    return deleted


class AuditLog:
    """JSON Lines, appended and flushed to disk after every batch: one line per deletion."""

    def __init__(self, path: Path, bucket: str, prepared: PreparedApply) -> None:
        self.path = path
        self.bucket = bucket
        self.plan = str(prepared.plan_path)
        self.plan_created_at = prepared.header.get("created_at")
        self.suspended = prepared.header.get("versioning") == "Suspended"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--audit {path}: cannot write there ({exc.strerror or exc})") from exc

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._handle.close()

    def write(
        self,
        deleted: list[dict[str, Any]],
        planned: dict[str, ObjectInfo],
        result: ApplyResult,
        recovered: bool = False,
        action: str = "delete",
    ) -> None:
        now = isoformat(datetime.now(timezone.utc))
        for entry in deleted:
            obj = planned[entry["Key"]]
            marker = bool(entry.get("DeleteMarker")) and not entry.get("VersionId")
            record = {
                "action": action,
                "time": now,
                "bucket": self.bucket,
                "key": entry["Key"],
                "version_id": entry.get("VersionId"),  # the version permanently deleted, or null
                "delete_marker_version_id": entry.get("DeleteMarkerVersionId") if marker else None,
                "etag": obj.etag,
                "size": obj.size,
                "storage_class": obj.storage_class,
                "last_modified": isoformat(obj.last_modified),
                "plan": self.plan,
                "plan_created_at": self.plan_created_at,
            }
            if not entry.get("VersionId") and self.suspended and obj.current_version_id in (None, "null"):
                record["permanent"] = True  # the "null" delete marker replaced the only copy of the data
            if recovered:
                record["recovered"] = True  # deleted by an interrupted run of this plan, audited on resume
            if action == "quarantine":
                self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                result.quarantined += 1
                continue
            self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            if entry.get("VersionId"):
                result.versions_deleted += 1
                if entry.get("VersionId") == obj.current_version_id:
                    result.deleted += 1
                    result.deleted_bytes += obj.size
            else:
                result.deleted += 1
                result.deleted_bytes += obj.size
                result.delete_markers += marker
        self._handle.flush()
        os.fsync(self._handle.fileno())
