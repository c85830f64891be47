"""Registry sources: where the references that protect artifacts come from.

Every source implements :class:`RegistrySource`. A source either returns *all* its references or raises
:class:`RegistryError`: a partial read would make unread artifacts look like garbage, so it is never
returned. Sources describe themselves as a plain ``spec`` dict that goes into the plan header, so that
``apply`` re-reads exactly the same sources.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml
from botocore.exceptions import BotoCoreError, ClientError

from artifact_gc.aws import aws_message
from artifact_gc.errors import ReferenceParseError, RegistryError, SafetyError, UsageError
from artifact_gc.refs.reachability import ReferenceSet
from artifact_gc.refs.uris import Location, parse_reference

DEFAULT_PATH_ATTRIBUTE = "s3_path"


@dataclass(frozen=True)
class Reference:
    """One raw reference and where it came from (for error messages)."""

    value: Any
    origin: str


class RegistrySource(Protocol):
    """A place that lists artifact locations still in use."""

    @property
    def name(self) -> str:
        """Short human name, e.g. ``dynamodb:model-registry``."""
        ...

    def spec(self) -> dict[str, Any]:
        """JSON-able description recorded in the plan header; :func:`source_from_spec` rebuilds it."""
        ...

    def references(self) -> Iterator[Reference]:
        """Yield every reference; raise RegistryError if the source cannot be read completely."""
        ...


# --------------------------------------------------------------------------------------------- DynamoDB


@dataclass(frozen=True)
class SkipRule:
    """Rows whose string attribute ``attribute`` equals ``value`` protect nothing (e.g. status=deleted)."""

    attribute: str
    value: str

    @classmethod
    def parse(cls, text: str) -> SkipRule:
        attribute, sep, value = text.partition("=")
        if not sep or not attribute.strip():
            raise UsageError(f"--skip-where {text!r}: expected ATTRIBUTE=VALUE, e.g. status=deleted")
        return cls(attribute.strip(), value)

    def __str__(self) -> str:
        return f"{self.attribute}={self.value}"


@dataclass
class DynamoDbSource:
    """A DynamoDB table scanned in full (paginated, projected, optionally in parallel segments).

    Works whatever the key schema: only the path attributes (and the key attributes, for messages) are
    read. String, string-list and string-set values all count; any other type is an error, not a skip.
    """

    client: Any
    table: str
    path_attributes: tuple[str, ...] = (DEFAULT_PATH_ATTRIBUTE,)
    skip_where: tuple[SkipRule, ...] = ()
    segments: int = 1
    page_size: int | None = None  # items per Scan request; None lets DynamoDB fill 1 MB pages
    rows_read: int = field(default=0, init=False)
    rows_skipped: int = field(default=0, init=False)

    @property
    def name(self) -> str:
        return f"dynamodb:{self.table}"

    def spec(self) -> dict[str, Any]:
        return {
            "type": "dynamodb",
            "table": self.table,
            "path_attributes": list(self.path_attributes),
            "skip_where": [str(rule) for rule in self.skip_where],
        }

    def references(self) -> Iterator[Reference]:
        key_attributes = self._key_attributes()
        wanted = list(
            dict.fromkeys([*self.path_attributes, *key_attributes, *(r.attribute for r in self.skip_where)])
        )
        names = {f"#a{i}": attr for i, attr in enumerate(wanted)}
        scan_args = {
            "TableName": self.table,
            "ProjectionExpression": ", ".join(names),
            "ExpressionAttributeNames": names,
            "ConsistentRead": True,
        }
        segments = max(1, self.segments)
        if segments == 1:
            pages = [self._scan_segment(scan_args)]
        else:
            with ThreadPoolExecutor(max_workers=min(segments, 16)) as pool:
                futures = [
                    pool.submit(
                        lambda s: list(
                            self._scan_segment({**scan_args, "Segment": s, "TotalSegments": segments})
                        ),
                        s,
                    )
                    for s in range(segments)
                ]
                pages = [future.result() for future in futures]
        for items in pages:
            for item in items:
                yield from self._item_references(item, key_attributes)

    def _key_attributes(self) -> list[str]:
        try:
            table = self.client.describe_table(TableName=self.table)["Table"]
        except (ClientError, BotoCoreError) as exc:
            raise RegistryError(f"registry table {self.table!r} cannot be read: {aws_message(exc)}") from exc
        return [k["AttributeName"] for k in table.get("KeySchema", [])]

    def _scan_segment(self, scan_args: dict[str, Any]) -> Iterator[dict[str, Any]]:
        try:
            pagination = {"PageSize": self.page_size} if self.page_size else {}
            for page in self.client.get_paginator("scan").paginate(**scan_args, PaginationConfig=pagination):
                yield from page.get("Items", [])
        except (ClientError, BotoCoreError) as exc:
            raise RegistryError(
                f"registry table {self.table!r} could not be scanned completely: {aws_message(exc)}"
            ) from exc

    def _item_references(self, item: dict[str, Any], key_attributes: list[str]) -> Iterator[Reference]:
        self.rows_read += 1
        row = _describe_row(item, key_attributes)
        for rule in self.skip_where:
            if item.get(rule.attribute) == {"S": rule.value}:
                self.rows_skipped += 1
                return
        origin = f"{self.name} row {row}"
        for attr in self.path_attributes:
            value = item.get(attr)
            if value is None or "NULL" in value:
                continue
            for text in _dynamodb_strings(value, f"{origin} attribute {attr!r}"):
                yield Reference(text, f"{origin} attribute {attr!r}")


def _dynamodb_strings(value: dict[str, Any], origin: str) -> list[str]:
    if "S" in value:
        return [value["S"]]
    if "SS" in value:
        return list(value["SS"])
    if "L" in value:
        out = []
        for element in value["L"]:
            if "S" not in element:
                raise ReferenceParseError(f"{origin}: list element {element!r} is not a string")
            out.append(element["S"])
        return out
    raise ReferenceParseError(f"{origin}: value {value!r} is not a string, string list or string set")


def _describe_row(item: dict[str, Any], key_attributes: list[str]) -> str:
    parts = []
    for attr in key_attributes:
        value = item.get(attr, {})
        parts.append(f"{attr}={next(iter(value.values()), '?')}")
    return "{" + ", ".join(parts) + "}"


# --------------------------------------------------------------------------------------------- manifest


@dataclass
class ManifestSource:
    """A manifest file, local or ``s3://``: a JSON or YAML list (of URIs, or of objects holding the path
    attribute), or plain text with one URI per line (blank lines and ``#`` comments ignored)."""

    location: str
    path_attributes: tuple[str, ...] = (DEFAULT_PATH_ATTRIBUTE,)
    s3_client: Any = None

    @property
    def name(self) -> str:
        return f"manifest:{self.location}"

    def spec(self) -> dict[str, Any]:
        return {"type": "manifest", "location": self.location, "path_attributes": list(self.path_attributes)}

    def references(self) -> Iterator[Reference]:
        text = self._read()
        yield from parse_manifest(text, self.location, self.path_attributes)

    def _read(self) -> str:
        if self.location.startswith("s3://"):
            bucket, _, key = self.location[len("s3://") :].partition("/")
            if self.s3_client is None:
                raise RegistryError(f"manifest {self.location}: no S3 client to read it with")
            try:
                body = self.s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
            except (ClientError, BotoCoreError) as exc:
                raise RegistryError(f"manifest {self.location} cannot be read: {aws_message(exc)}") from exc
        else:
            try:
                body = Path(self.location).read_bytes()
            except OSError as exc:
                raise RegistryError(
                    f"manifest {self.location} cannot be read: {exc.strerror or exc}"
                ) from exc
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RegistryError(f"manifest {self.location} is not UTF-8 text ({exc.reason})") from exc


def parse_manifest(text: str, location: str, path_attributes: Iterable[str]) -> Iterator[Reference]:
    """Parse a manifest's text by its name: ``.json``, ``.yaml``/``.yml``, anything else one URI a line."""
    path_attributes = tuple(path_attributes)
    lowered = location.lower()
    if lowered.endswith((".json", ".yaml", ".yml")):
        try:
            data = json.loads(text) if lowered.endswith(".json") else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise RegistryError(
                f"manifest {location} is not valid {'JSON' if lowered.endswith('.json') else 'YAML'}: "
                f"{str(exc).splitlines()[0]}"
            ) from exc
        if not isinstance(data, list):
            raise RegistryError(
                f"manifest {location} must hold a list of URIs or of objects, not {type(data).__name__}"
            )
        for index, entry in enumerate(data):
            origin = f"manifest {location} entry {index}"
            if isinstance(entry, dict):
                found = [attr for attr in path_attributes if entry.get(attr) is not None]
                if not found:
                    raise ReferenceParseError(
                        f"{origin} has none of the path attributes {list(path_attributes)}"
                    )
                for attr in found:
                    values = entry[attr] if isinstance(entry[attr], list) else [entry[attr]]
                    for value in values:
                        yield Reference(value, f"{origin} attribute {attr!r}")
            else:
                yield Reference(entry, origin)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield Reference(line, f"manifest {location} line {number}")


# --------------------------------------------------------------------------------------------- collection


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
