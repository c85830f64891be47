"""Registry sources together: read them all into one ReferenceSet, and rebuild them from a plan header.

Every source implements :class:`RegistrySource`. A source either returns *all* its references or raises
:class:`RegistryError`: a partial read would make unread artifacts look like garbage, so it is never
returned. Sources describe themselves as a plain ``spec`` dict that goes into the plan header, so that
``apply`` re-reads exactly the same sources.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from artifact_gc.errors import ReferenceParseError, SafetyError, UsageError
from artifact_gc.refs.reachability import ReferenceSet
from artifact_gc.refs.uris import Location, analyse_reference
from artifact_gc.registry.base import Reference, RegistrySource
from artifact_gc.registry.dynamodb import DynamoDbSource, SkipRule
from artifact_gc.registry.manifest import ManifestSource, parse_manifest
from artifact_gc.registry.mlflow import MlflowSource
from artifact_gc.registry.sagemaker import SageMakerSource
from artifact_gc.registry.sql import SqlSource

__all__ = [
    "DynamoDbSource",
    "ManifestSource",
    "MlflowSource",
    "Reference",
    "RegistrySource",
    "SageMakerSource",
    "SkipRule",
    "SqlSource",
    "parse_manifest",
]


ALL_SOURCES = "the registry (all sources together)"


@dataclass(frozen=True)
class SourceCount:
    """What one source contributed: its identity (for the shrink baseline), distinct references to our
    bucket, their fingerprint, and rows that held no path attribute (they protect nothing)."""

    identity: dict[str, Any]
    references: int
    fingerprint: str
    rows_without_path: int = 0


@dataclass(frozen=True)
class RegistrySnapshot:
    """The union of all sources' references, as one ReferenceSet, with per-source counts."""

    refs: ReferenceSet
    per_source: dict[str, int]  # source name -> references read
    sources: dict[str, SourceCount] = field(default_factory=dict)  # source name -> its own counts
    glob_widened: int = 0  # references holding a glob, widened to the text before it
    access_points: dict[str, str] = field(default_factory=dict)  # --access-point mapping used

    def baselines(self) -> dict[str, tuple[Any, int, str]]:
        """Shrink baselines: each source, and all sources together -> (identity, references, fingerprint)."""
        found: dict[str, tuple[Any, int, str]] = {
            name: (c.identity, c.references, c.fingerprint) for name, c in self.sources.items()
        }
        together = sorted(json.dumps(c.identity, sort_keys=True) for c in self.sources.values())
        found[ALL_SOURCES] = ({"sources": together}, self.refs.reference_count, self.refs.fingerprint)
        return found

    def header(self, sources: list[RegistrySource]) -> dict[str, Any]:
        return {
            "sources": [source.spec() for source in sources],
            "fingerprint": self.refs.fingerprint,
            "references": self.refs.reference_count,
            "references_by_source": self.per_source,
            "source_counts": {
                name: {
                    "references": c.references,
                    "fingerprint": c.fingerprint,
                    "rows_without_path": c.rows_without_path,
                }
                for name, c in self.sources.items()
            },
            "glob_widened": self.glob_widened,
            "access_points": self.access_points,
            "other_buckets": self.refs.other_buckets,
            "protects_whole_bucket": self.refs.protects_whole_bucket,
        }


def source_identity(spec: dict[str, Any]) -> dict[str, Any]:
    """What makes a source the same source across runs: its type and table or location, not its path
    attributes (a wrong path attribute must look like a shrink of the same source, not a new one)."""
    return {k: spec[k] for k in ("type", "table", "location", "url", "query", "protect_runs") if k in spec}


def collect_references(
    sources: list[RegistrySource],
    bucket: str,
    endpoint_hosts: frozenset[str] = frozenset(),
    allow_empty: bool = False,
    access_points: Mapping[str, str] | None = None,
) -> RegistrySnapshot:
    """Read every source and build the ReferenceSet; fail closed on any doubt.

    Raises RegistryError (a source failed), ReferenceParseError (a reference means nothing we know), or
    SafetyError (no references at all, unless ``allow_empty``).
    """
    if not sources:
        raise UsageError(
            "no registry source: give --registry-table, --manifest, --registry-sql, --mlflow-tracking-uri or --sagemaker (or registry_table in gc_config)"
        )
    access_points = dict(access_points or {})
    locations: set[Location] = set()
    per_source: dict[str, int] = {}
    counts: dict[str, SourceCount] = {}
    ours = 0
    widened = 0
    for source in sources:
        count = source_ours = 0
        seen: set[str] = set()
        source_keys: set[str] = set()
        for ref in source.references():
            count += not ref.alternative
            try:
                parsed = analyse_reference(ref.value, bucket, endpoint_hosts, access_points)
            except ReferenceParseError as exc:
                raise ReferenceParseError(f"{ref.origin}: {exc}") from exc
            meanings = parsed.locations
            if ref.value not in seen and not ref.alternative:
                seen.add(ref.value)
                into_ours = any(loc.bucket == bucket for loc in meanings)
                ours += into_ours
                source_ours += into_ours
                widened += parsed.glob_widened
            source_keys |= {loc.key for loc in meanings if loc.bucket == bucket}
            locations |= meanings
        per_source[source.name] = count
        own = ReferenceSet.from_locations((Location(bucket, k) for k in source_keys), bucket)
        counts[source.name] = SourceCount(
            identity=source_identity(source.spec()),
            references=source_ours,
            fingerprint=own.fingerprint,
            rows_without_path=int(getattr(source, "rows_without_path", 0)),
        )
    refs = ReferenceSet.from_locations(locations, bucket, reference_count=ours)
    if refs.is_empty and not allow_empty:
        total = sum(per_source.values())
        elsewhere = f" ({total} point to other buckets)" if total else ""
        without = sum(c.rows_without_path for c in counts.values())
        rows = ""
        for source in sources:
            read = int(getattr(source, "rows_read", 0))
            if (
                read
                and getattr(source, "rows_without_path", 0) == read
                and hasattr(source, "attributes_seen")
            ):
                attrs = list(getattr(source, "path_attributes", ()))
                rows = (
                    f"; {source.name} has {read} rows but none holds {attrs} "
                    f"(attributes seen: {source.attributes_seen()}): check --path-attribute"
                )
                break
        if without and not rows:
            rows = f"; {without} rows hold none of the path attributes (is --path-attribute right?)"
        raise SafetyError(
            f"the registry yields no references to bucket {bucket!r}{elsewhere}{rows}: refusing, since every "
            "object would look like garbage (pass --allow-empty-registry if that is really intended)"
        )
    return RegistrySnapshot(
        refs=refs, per_source=per_source, sources=counts, glob_widened=widened, access_points=access_points
    )


def source_from_spec(
    spec: dict[str, Any],
    dynamodb_client: Any,
    s3_client: Any,
    segments: int = 1,
    page_size: int | None = None,
    sagemaker_client: Any = None,
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
        if kind == "sql":
            return SqlSource(str(spec["url"]), str(spec["query"]))
        if kind == "mlflow":
            return MlflowSource(
                str(spec["url"]), str(spec["protect_runs"]), spec.get("artifacts_destination")
            )
        if kind == "sagemaker":
            if sagemaker_client is None:
                raise UsageError("plan header: a SageMaker registry source, but no SageMaker client")
            return SageMakerSource(sagemaker_client)
    except (KeyError, TypeError) as exc:
        raise UsageError(f"plan header: registry source {spec!r} is incomplete ({exc})") from exc
    raise UsageError(f"plan header: unknown registry source type {spec.get('type')!r}")
