"""Registry sources together: read them all into one ReferenceSet, and rebuild them from a plan header.

Every source implements :class:`RegistrySource`. A source either returns *all* its references or raises
:class:`RegistryError`: a partial read would make unread artifacts look like garbage, so it is never
returned. Sources describe themselves as a plain ``spec`` dict that goes into the plan header, so that
``apply`` re-reads exactly the same sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from artifact_gc.errors import ReferenceParseError, SafetyError, UsageError
from artifact_gc.refs.reachability import ReferenceSet
from artifact_gc.refs.uris import Location, parse_reference
from artifact_gc.registry.base import Reference, RegistrySource
from artifact_gc.registry.dynamodb import DynamoDbSource, SkipRule
from artifact_gc.registry.manifest import ManifestSource, parse_manifest

__all__ = ["DynamoDbSource", "ManifestSource", "Reference", "RegistrySource", "SkipRule", "parse_manifest"]


@dataclass(frozen=True)
class RegistrySnapshot:
    """The union of all sources' references, as one ReferenceSet, with per-source counts."""

    refs: ReferenceSet
    per_source: dict[str, int]  # source name -> references read

    def header(self, sources: list[RegistrySource]) -> dict[str, Any]:
        return {
            "sources": [source.spec() for source in sources],
            "fingerprint": self.refs.fingerprint,
            "references": self.refs.reference_count,
            "references_by_source": self.per_source,
            "other_buckets": self.refs.other_buckets,
            "protects_whole_bucket": self.refs.protects_whole_bucket,
        }


def collect_references(
    sources: list[RegistrySource],
    bucket: str,
    endpoint_hosts: frozenset[str] = frozenset(),
    allow_empty: bool = False,
) -> RegistrySnapshot:
    """Read every source and build the ReferenceSet; fail closed on any doubt.

    Raises RegistryError (a source failed), ReferenceParseError (a reference means nothing we know), or
    SafetyError (no references at all, unless ``allow_empty``).
    """
    if not sources:
        raise UsageError(
            "no registry source: give --registry-table or --manifest (or registry_table in gc_config)"
        )
    locations: set[Location] = set()
    per_source: dict[str, int] = {}
    ours = 0
    for source in sources:
        count = 0
        seen: set[str] = set()
        for ref in source.references():
            count += 1
            try:
                meanings = parse_reference(ref.value, bucket, endpoint_hosts)
            except ReferenceParseError as exc:
                raise ReferenceParseError(f"{ref.origin}: {exc}") from exc
            if ref.value not in seen:
                seen.add(ref.value)
                ours += any(loc.bucket == bucket for loc in meanings)
            locations |= meanings
        per_source[source.name] = count
    refs = ReferenceSet.from_locations(locations, bucket, reference_count=ours)
    if refs.is_empty and not allow_empty:
        total = sum(per_source.values())
        elsewhere = f" ({total} point to other buckets)" if total else ""
        raise SafetyError(
            f"the registry yields no references to bucket {bucket!r}{elsewhere}: refusing, since every object "
            "would look like garbage (pass --allow-empty-registry if that is really intended)"
        )
    return RegistrySnapshot(refs=refs, per_source=per_source)


def source_from_spec(
    spec: dict[str, Any],
    dynamodb_client: Any,
    s3_client: Any,
    segments: int = 1,
    page_size: int | None = None,
) -> RegistrySource:
    """Rebuild a source recorded in a plan header."""
    try:
        kind = spec["type"]
        if kind == "dynamodb":
            return DynamoDbSource(
                dynamodb_client,
                spec["table"],
                tuple(spec["path_attributes"]),
                tuple(SkipRule.parse(rule) for rule in spec.get("skip_where", [])),
                segments=segments,
                page_size=page_size,
            )
        if kind == "manifest":
            return ManifestSource(spec["location"], tuple(spec["path_attributes"]), s3_client)
    except (KeyError, TypeError) as exc:
        raise UsageError(f"plan header: registry source {spec!r} is incomplete ({exc})") from exc
    raise UsageError(f"plan header: unknown registry source type {spec.get('type')!r}")
