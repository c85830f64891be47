"""Mark: decide which listed objects are garbage. Pure: no I/O, no clock (the cutoff is passed in)."""

from __future__ import annotations

import fnmatch
import heapq
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from artifact_gc.collect.object_info import ObjectInfo
from artifact_gc.refs.reachability import Match, ReferenceSet


class KeepRules:
    """``--keep GLOB`` patterns (shell-style, case-sensitive; ``*`` also matches ``/``)."""

    def __init__(self, globs: Sequence[str] = ()) -> None:
        self.globs = tuple(globs)
        pattern = "|".join(f"(?:{fnmatch.translate(glob)})" for glob in self.globs)
        self._regex = re.compile(pattern, re.DOTALL) if self.globs else None

    def keeps(self, key: str) -> bool:
        return self._regex is not None and self._regex.match(key) is not None


# MarkStats' plain counters, in decision order
COUNTERS = (
    "objects",
    "bytes",
    "protected",
    "protected_bytes",
    "protected_non_folder",
    "too_young",
    "kept_by_glob",
    "candidates",
    "candidate_bytes",
)


@dataclass
class MarkStats:
    """Counters that one or more :func:`mark` calls add to; mutually exclusive, in decision order."""

    objects: int = 0
    bytes: int = 0
    protected: int = 0
    protected_bytes: int = 0
    protected_non_folder: int = 0  # kept only because a reference matched mid-name (v1 keeping v10)
    too_young: int = 0
    kept_by_glob: int = 0
    candidates: int = 0
    candidate_bytes: int = 0
    by_prefix_class: Counter[tuple[str, str]] = field(default_factory=Counter)  # (prefix, class) -> count
    bytes_by_prefix_class: Counter[tuple[str, str]] = field(default_factory=Counter)
    largest: list[tuple[int, str]] = field(default_factory=list)  # min-heap of (size, key)
    largest_limit: int = 10

    def note_candidates(self, prefix: str, garbage: Iterable[ObjectInfo]) -> None:
        """Count candidates found under scope ``prefix`` (called by the plan writer, which visits them anyway)."""
        largest = self.largest
        for obj in garbage:
            size = obj.size
            self.candidates += 1
            self.candidate_bytes += size
            slot = (prefix, obj.storage_class)
            self.by_prefix_class[slot] += 1
            self.bytes_by_prefix_class[slot] += size
            if len(largest) < self.largest_limit:
                heapq.heappush(largest, (size, obj.key))
            elif size > largest[0][0]:
                heapq.heapreplace(largest, (size, obj.key))

    def merge(self, other: MarkStats) -> None:
        """Add the counts of ``other`` (a part of the same scope marked separately)."""
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

        self.by_prefix_class.update(other.by_prefix_class)
        self.bytes_by_prefix_class.update(other.bytes_by_prefix_class)
        self.largest = heapq.nlargest(self.largest_limit, self.largest + other.largest)
        heapq.heapify(self.largest)

    def largest_candidates(self) -> list[tuple[int, str]]:
        return sorted(self.largest, reverse=True)


def mark(
    page: Iterable[ObjectInfo],
    refs: ReferenceSet,
    cutoff: datetime,
    keep: KeepRules,
    stats: MarkStats,
) -> list[ObjectInfo]:
    """Return the objects of ``page`` that are garbage: unprotected, last modified before ``cutoff``, and
    matched by no keep glob. Every object is counted into ``stats``; candidates are counted by whoever
    consumes them (:meth:`MarkStats.note_candidates`).

    Works one listing page at a time (S3 returns at most 1,000 keys a page), so memory stays flat and the
    per-object loop stays tight: counters live in locals and reach ``stats`` once per page.
    """
    protects = refs.protects
    keeps = keep.keeps
    garbage: list[ObjectInfo] = []
    append = garbage.append
    n_objects = n_bytes = n_protected = protected_bytes = non_folder = too_young = by_glob = 0
    for obj in page:
        key = obj.key
        size = obj.size
        n_objects += 1
        n_bytes += size
        if protects(key):
            n_protected += 1
            protected_bytes += size
            if refs.match(key) is Match.NON_FOLDER:
                non_folder += 1
        elif obj.last_modified >= cutoff:
            too_young += 1
        elif keeps(key):
            by_glob += 1
        else:
            append(obj)
    stats.objects += n_objects
    stats.bytes += n_bytes
    stats.protected += n_protected
    stats.protected_bytes += protected_bytes
    stats.protected_non_folder += non_folder
    stats.too_young += too_young
    stats.kept_by_glob += by_glob
    return garbage
