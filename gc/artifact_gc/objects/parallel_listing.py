"""List one scope prefix as several disjoint listings at once (``--list-concurrency``).

A single ListObjects loop reads 1,000 keys per round trip, one page after another. The prefix is split by
delimiter fan-out instead: a folder is listed with ``Delimiter="/"``, which returns its direct objects
and its sub-folders; the direct objects are handled there and then, and each sub-folder becomes a listing
of its own. Folders are split breadth-first until there are enough listings to keep the workers busy,
then each remaining folder is listed whole. Every key belongs to exactly one listing and every page is
requested once. Each listing hands its objects over in key order; the caller merges them.

Threads suffice to overlap the round trips (botocore parses a page while holding the GIL, so the gain is
bounded by the parsing, about 2-3x on two cores); retries and SlowDown back-off stay botocore's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from artifact_gc.aws import aws_message
from artifact_gc.collect.object_info import ObjectInfo
from artifact_gc.errors import AwsError
from artifact_gc.objects.listing import current_objects

MAX_SPLIT_DEPTH = 4


@dataclass(frozen=True)
class Listing:
    """One disjoint part of a scope prefix: the objects directly in a folder, or a whole folder."""

    prefix: str
    direct_only: bool  # only the objects directly in ``prefix`` (its sub-folders are other listings)


def _pages(
    s3: Any, bucket: str, prefix: str, versioned: bool, delimiter: str | None
) -> Iterator[dict[str, Any]]:
    operation = "list_object_versions" if versioned else "list_objects_v2"
    extra = {"Delimiter": delimiter} if delimiter else {}
    try:
        yield from s3.get_paginator(operation).paginate(Bucket=bucket, Prefix=prefix, **extra)
    except (ClientError, BotoCoreError) as exc:
        raise AwsError(f"listing s3://{bucket}/{prefix} failed: {aws_message(exc)}") from exc


Handler = Callable[[Listing, list[ObjectInfo]], None]


def _split(s3: Any, bucket: str, folder: str, versioned: bool, handle: Handler) -> list[str]:
    """List ``folder`` with a delimiter: handle its direct objects page by page, return its sub-folders."""
    subfolders: list[str] = []
    part = Listing(folder, direct_only=True)
    for page in _pages(s3, bucket, folder, versioned, "/"):
        subfolders += [p["Prefix"] for p in page.get("CommonPrefixes", ())]
        handle(part, current_objects(page, versioned))
    return subfolders


def _whole(s3: Any, bucket: str, folders: list[str], versioned: bool, handle: Handler) -> None:
    """List sibling folders whole, one after another (they are sorted and disjoint: so is their output)."""
    part = Listing(folders[0], direct_only=False)
    for folder in folders:
        for page in _pages(s3, bucket, folder, versioned, None):
            handle(part, current_objects(page, versioned))


def list_in_parallel(
    s3: Any, bucket: str, prefix: str, versioned: bool, workers: int, handle: Handler
) -> None:
    """Hand every current object under ``prefix`` to ``handle(listing, objects)``, a page at a time, from
    worker threads. Pages of one listing arrive in key order, from one thread; listings are disjoint.

    A prefix that does not end in "/" is split at its first "/" level below it like any other."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="artifact-gc-list") as pool:
        folders = [prefix]
        depth = 0
        while folders and depth < MAX_SPLIT_DEPTH and len(folders) < workers * 4:
            splits = [pool.submit(_split, s3, bucket, folder, versioned, handle) for folder in folders]
            folders = [sub for split in splits for sub in split.result()]
            depth += 1
        # at most workers * 4 listings of whole folders: contiguous groups of the sorted sub-folders
        folders.sort()
        size = max(1, -(-len(folders) // (workers * 4)))
        groups = [folders[i : i + size] for i in range(0, len(folders), size)]
        for whole in [pool.submit(_whole, s3, bucket, group, versioned, handle) for group in groups]:
            whole.result()
