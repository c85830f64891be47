"""Which object keys the registry still references: the one question the GC must never get wrong.

A reference protects key ``k`` when ``k`` starts with the reference's key once trailing slashes are
removed. ``models/a/v3/`` therefore protects ``models/a/v3``, ``models/a/v3/w.bin``, ``models/a/v3.tar.gz``
and ``models/a/v30/x``: an ambiguous reference keeps. Matches that do not stop at a folder boundary are
reported so that users can tighten their registry.

The references in our bucket are stored as a sorted, prefix-free tuple (a prefix that another one
covers adds nothing). In such a tuple the only candidate that can be a prefix of ``k`` is the greatest
reference ``<= k``, so one ``bisect`` answers ``protects`` in O(log n).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from artifact_gc.refs.uris import Location, parse_reference


class Match(Enum):
    """How a key relates to the references."""

    NONE = "none"  # not protected
    FOLDER = "folder"  # equal to a reference, or continues it with "/"
    NON_FOLDER = "non_folder"  # continues a reference with another character (v1 protecting v10)


def _strip_trailing_slashes(key: str) -> str:
    return key.rstrip("/")


@dataclass(frozen=True)
class ReferenceSet:
    """The normalised references of one bucket, plus what was seen for other buckets.

    Build it with :meth:`from_uris` or :meth:`from_locations`; query it with :meth:`protects`.
    """

    bucket: str
    prefixes: tuple[str, ...]  # sorted, prefix-free, trailing slashes removed
    all_keys: frozenset[str]  # every reference key (trailing slashes removed), for match classification
    reference_count: int  # distinct references (raw strings) that point into our bucket
    other_buckets: dict[str, int] = field(
        default_factory=dict
    )  # bucket -> distinct references, never applied
    fingerprint: str = ""

    @classmethod
    def from_uris(
        cls, uris: Iterable[str], bucket: str, endpoint_hosts: frozenset[str] = frozenset()
    ) -> ReferenceSet:
        """Parse every URI (raising ReferenceParseError on the first one that cannot be parsed)."""
        locations: set[Location] = set()
        ours = 0
        for uri in set(uris):
            meanings = parse_reference(uri, bucket, endpoint_hosts)
            ours += any(loc.bucket == bucket for loc in meanings)
            locations |= meanings
        return cls.from_locations(locations, bucket, reference_count=ours)

    @classmethod
    def from_locations(
        cls, locations: Iterable[Location], bucket: str, reference_count: int | None = None
    ) -> ReferenceSet:
        """Build from already-parsed locations; locations in other buckets are only counted."""
        keys: set[str] = set()
        others: Counter[str] = Counter()
        for loc in set(locations):
            if loc.bucket == bucket:
                keys.add(_strip_trailing_slashes(loc.key))
            else:
                others[loc.bucket] += 1
        digest = hashlib.sha256()
        for key in sorted(keys):
            digest.update(key.encode("utf-8", "surrogatepass") + b"\0")
        return cls(
            bucket=bucket,
            prefixes=_prefix_free(keys),
            all_keys=frozenset(keys),
            reference_count=len(keys) if reference_count is None else reference_count,
            other_buckets=dict(sorted(others.items())),
            fingerprint="sha256:" + digest.hexdigest(),
        )

    @property
    def protects_whole_bucket(self) -> bool:
        """A reference to the bucket itself (or to ``/``) protects every key: loudly reported."""
        return self.prefixes == ("",)

    @property
    def is_empty(self) -> bool:
        return not self.prefixes

    def protects(self, key: str) -> bool:
        """True when some reference protects ``key``. O(log n) in the number of references."""
        prefixes = self.prefixes
        i = bisect_right(prefixes, key)
        return i > 0 and key.startswith(prefixes[i - 1])

    def match(self, key: str) -> Match:
        """Like :meth:`protects`, and says whether the match stops at a folder boundary."""
        prefixes = self.prefixes
        i = bisect_right(prefixes, key)
        if i == 0:
            return Match.NONE
        ref = prefixes[i - 1]
        if not key.startswith(ref):
            return Match.NONE
        if len(key) == len(ref) or not ref or key[len(ref)] == "/":
            return Match.FOLDER
        # The prefix-free tuple kept only the shortest covering reference (v1 for v10/x); a longer one
        # may stop at a folder boundary of the key (v10), so look among the key's folder ancestors.
        all_keys = self.all_keys
        if key in all_keys:
            return Match.FOLDER
        slash = key.find("/", len(ref))
        while slash != -1:
            if key[:slash] in all_keys:
                return Match.FOLDER
            slash = key.find("/", slash + 1)
        return Match.NON_FOLDER

    def __len__(self) -> int:
        return len(self.prefixes)


def _prefix_free(keys: Iterable[str]) -> tuple[str, ...]:
    """Sorted keys with every key that another key is a prefix of removed (it adds no protection)."""
    kept: list[str] = []
    for key in sorted(keys):
        if kept and key.startswith(kept[-1]):
            continue
        kept.append(key)
    return tuple(kept)
