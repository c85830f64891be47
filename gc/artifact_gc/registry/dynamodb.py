"""The DynamoDB registry table: scanned in full, fail closed on any value that is not a string."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from artifact_gc.aws import aws_message
from artifact_gc.config import DEFAULT_PATH_ATTRIBUTE
from artifact_gc.errors import ReferenceParseError, RegistryError, UsageError
from artifact_gc.registry.base import Reference


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
    rows_without_path: int = field(default=0, init=False)  # rows with none of the path attributes

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
        # A dotted path attribute (a.b) is read both as the top-level attribute named "a.b" and as the
        # nested map path a -> b: DynamoDB allows dots in names, so either could be meant.
        nested_roots = [a.split(".", 1)[0] for a in self.path_attributes if "." in a]
        wanted = list(
            dict.fromkeys(
                [
                    *self.path_attributes,
                    *nested_roots,
                    *key_attributes,
                    *(r.attribute for r in self.skip_where),
                ]
            )
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

    def attributes_seen(self, sample: int = 25) -> list[str]:
        """Attribute names of a few rows (unprojected): to say what a wrong --path-attribute should be."""
        try:
            items = self.client.scan(TableName=self.table, Limit=sample).get("Items", [])
        except (ClientError, BotoCoreError):
            return []
        return sorted({name for item in items for name in item})

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
        found = False
        for attr in self.path_attributes:
            for value in _attribute_values(item, attr):
                if value is None or "NULL" in value:
                    continue
                found = True
                for text in _dynamodb_strings(value, f"{origin} attribute {attr!r}"):
                    yield Reference(text, f"{origin} attribute {attr!r}")
        if not found:
            self.rows_without_path += 1


def _attribute_values(item: dict[str, Any], attr: str) -> list[dict[str, Any] | None]:
    """The literal top-level attribute ``attr`` and, for a dotted name, the nested map path as well."""
    values = [item.get(attr)]
    if "." in attr:
        node: Any = {"M": item}
        for part in attr.split("."):
            node = node.get("M", {}).get(part) if isinstance(node, dict) else None
            if node is None:
                break
        values.append(node)
    return values


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
