"""Pure readings of an S3 lifecycle configuration (the boto3 ``Rules`` shape)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


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
