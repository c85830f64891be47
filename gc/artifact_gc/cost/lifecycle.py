"""Pure readings of an S3 lifecycle configuration (the boto3 ``Rules`` shape)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

_INT, _TEXT, _BOOL, _DATE = "a whole number", "a string", "true or false", "a date"
_TAG = {"Key": _TEXT, "Value": _TEXT}
_SIZES = {"ObjectSizeGreaterThan": _INT, "ObjectSizeLessThan": _INT}
# The types of a LifecycleRule's fields (S3 API reference, LifecycleRule and what it holds): an object is
# a dict of its fields, a list holds one element shape. Null stands for an absent field, as in
# Terraform's JSON (readers get documents through without_nulls); fields not named here are not read.
RULE_SHAPE: dict[str, Any] = {
    "ID": _TEXT,
    "Status": _TEXT,
    "Prefix": _TEXT,
    "Filter": {"Prefix": _TEXT, "Tag": _TAG, **_SIZES, "And": {"Prefix": _TEXT, "Tags": [_TAG], **_SIZES}},
    "Transitions": [{"Days": _INT, "Date": _DATE, "StorageClass": _TEXT}],
    "Expiration": {"Days": _INT, "Date": _DATE, "ExpiredObjectDeleteMarker": _BOOL},
    "NoncurrentVersionTransitions": [
        {"NoncurrentDays": _INT, "NewerNoncurrentVersions": _INT, "StorageClass": _TEXT}
    ],
    "NoncurrentVersionExpiration": {"NoncurrentDays": _INT, "NewerNoncurrentVersions": _INT},
    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": _INT},
}


def without_nulls(value: Any) -> Any:
    """The document with every null field left out (Terraform's JSON spells an absent field as null), so
    that readers of rules see absent fields as absent. A null rule stays, for the shape check to name."""
    if isinstance(value, dict):
        return {name: without_nulls(inner) for name, inner in value.items() if inner is not None}
    if isinstance(value, list):
        return [without_nulls(inner) for inner in value]
    return value


def rule_shape_problems(rule: Any, where: str) -> list[str]:
    """Where a rule is not of :data:`RULE_SHAPE` (``Rules[2].Filter is a list, not an object``), so that
    readers of rules (the lint, the projection) can trust the types they read."""
    return _problems(rule, RULE_SHAPE, where)


def _problems(value: Any, shape: Any, where: str) -> list[str]:
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return [f"{where} is {_kind(value)}, not an object"]
        return [
            problem
            for name, inner in shape.items()
            if value.get(name) is not None
            for problem in _problems(value[name], inner, f"{where}.{name}")
        ]
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{where} is {_kind(value)}, not a list"]
        return [
            problem for i, item in enumerate(value) for problem in _problems(item, shape[0], f"{where}[{i}]")
        ]
    fits = {
        _INT: isinstance(value, int) and not isinstance(value, bool),
        _TEXT: isinstance(value, str),
        _BOOL: isinstance(value, bool),
        _DATE: isinstance(value, (str, date)),
    }[shape]
    return [] if fits else [f"{where} is {_kind(value)}, not {shape}"]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return "a number" if isinstance(value, (int, float)) else type(value).__name__


def rule_prefix(rule: Mapping[str, Any]) -> str | None:
    """The key prefix a rule applies to, or None when it also needs tags or sizes we cannot promise."""
    if "Filter" not in rule:
        return rule.get("Prefix", "")  # legacy top-level Prefix
    flt = rule["Filter"] or {}
    if not flt:
        return ""
    if set(flt) == {"Prefix"}:
        return flt["Prefix"]
    if set(flt) == {"And"} and set(flt["And"]) == {"Prefix"}:
        return flt["And"]["Prefix"]
    return None


def noncurrent_expiration_days(
    rules: Iterable[Mapping[str, Any]], scope_prefixes: Sequence[str]
) -> int | None:
    """Days after which noncurrent versions under every scope prefix expire, or None if some never do.

    After ``apply`` adds delete markers on a versioned bucket, this is when the bytes are really freed.
    """
    rules = [
        r
        for r in rules
        if r.get("Status") == "Enabled" and r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays")
    ]
    worst = 0
    for scope in scope_prefixes:
        days = [
            int(r["NoncurrentVersionExpiration"]["NoncurrentDays"])
            for r in rules
            if (prefix := rule_prefix(r)) is not None and scope.startswith(prefix)
        ]
        if not days:
            return None
        worst = max(worst, min(days))
    return worst
