"""Lint an S3 lifecycle configuration (the boto3 ``Rules`` shape): what S3 would reject, what bills badly.

Pure: the configuration and a few facts about the bucket (versioned, object sizes under each prefix) go
in, findings with a severity come out. ``error`` means S3 rejects the configuration (or it cannot be
read); ``warning`` a cost pitfall; ``info`` something worth knowing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from artifact_gc.cost.lifecycle import rule_prefix

ERROR, WARNING, INFO = "error", "warning", "info"
TRANSITION_ORDER = [
    "STANDARD_IA",
    "INTELLIGENT_TIERING",
    "ONEZONE_IA",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
]
IA_CLASSES = ("STANDARD_IA", "ONEZONE_IA")
MINIMUM_DAYS = {"STANDARD_IA": 30, "ONEZONE_IA": 30, "GLACIER_IR": 90, "GLACIER": 90, "DEEP_ARCHIVE": 180}
SMALL_OBJECT_BYTES = 128 * 1024
MAX_RULES = 1000


@dataclass(frozen=True)
class LintFinding:
    severity: str
    check: str
    rule_id: str
    message: str


@dataclass(frozen=True)
class BucketFacts:
    """What the lint knows about the bucket besides its rules (all optional)."""

    versioned: bool | None = None
    transition_default_minimum_object_size: str = "all_storage_classes_128K"
    # (prefix, count of objects under 128 KB) from a listing, to size the small-object pitfall
    small_objects_by_prefix: Sequence[tuple[str, int]] = field(default_factory=tuple)


def _days(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def lint(configuration: Mapping[str, Any], facts: BucketFacts = BucketFacts()) -> list[LintFinding]:
    rules = configuration.get("Rules")
    if not isinstance(rules, list):
        return [LintFinding(ERROR, "shape", "-", "the configuration has no Rules list")]
    found: list[LintFinding] = []
    if len(rules) > MAX_RULES:
        found.append(
            LintFinding(ERROR, "rule-count", "-", f"{len(rules)} rules: S3 allows at most {MAX_RULES}")
        )
    elif len(rules) >= 900:
        found.append(
            LintFinding(WARNING, "rule-count", "-", f"{len(rules)} rules: close to S3's limit of {MAX_RULES}")
        )
    ids = [str(r.get("ID", "")) for r in rules if isinstance(r, dict)]
    for duplicate in sorted({i for i in ids if ids.count(i) > 1 and i}):
        found.append(LintFinding(ERROR, "duplicate-id", duplicate, "rule IDs must be unique"))
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            found.append(LintFinding(ERROR, "shape", f"#{index}", "a rule must be an object"))
            continue
        found += _lint_rule(rule, index, facts)
    found += _lint_bucket(rules, facts)
    order = {ERROR: 0, WARNING: 1, INFO: 2}
    return sorted(found, key=lambda f: (order[f.severity], f.rule_id, f.check))


def _lint_rule(rule: Mapping[str, Any], index: int, facts: BucketFacts) -> list[LintFinding]:
    rid = str(rule.get("ID") or f"#{index}")
    found: list[LintFinding] = []

    def add(severity: str, check: str, message: str) -> None:
        found.append(LintFinding(severity, check, rid, message))

    if not rule.get("ID"):
        add(ERROR, "missing-id", "every rule needs an ID")
    elif len(str(rule["ID"])) > 255:
        add(ERROR, "missing-id", "rule IDs are limited to 255 characters")
    status = rule.get("Status")
    if status not in ("Enabled", "Disabled"):
        add(ERROR, "status", f"Status must be Enabled or Disabled, not {status!r}")
    elif status == "Disabled":
        add(INFO, "disabled", "the rule is disabled: none of its actions run")
    if "Filter" not in rule and "Prefix" not in rule:
        add(ERROR, "filter", "every rule needs a Filter (an empty Filter means the whole bucket)")
    flt = rule.get("Filter") or {}
    tagged = "Tag" in flt or bool((flt.get("And") or {}).get("Tags"))
    transitions = rule.get("Transitions") or []
    expiration = rule.get("Expiration") or {}
    actions = [
        k
        for k in (
            "Transitions",
            "Expiration",
            "NoncurrentVersionTransitions",
            "NoncurrentVersionExpiration",
            "AbortIncompleteMultipartUpload",
        )
        if rule.get(k)
    ]
    if not actions:
        add(ERROR, "no-action", "a rule needs at least one action")

    steps: list[tuple[int, str]] = []
    for transition in transitions:
        days, cls = _days(transition.get("Days")), str(transition.get("StorageClass"))
        if days is None or days < 0:
            add(ERROR, "days", f"transition to {cls}: Days must be a whole number of 0 or more")
            continue
        if cls in IA_CLASSES and days < 30:
            add(ERROR, "ia-too-soon", f"transition to {cls} after {days} days: S3 requires at least 30")
        steps.append((days, cls))
    classes = [cls for _, cls in steps]
    if len(set(classes)) != len(classes):
        add(ERROR, "transition-order", "a storage class appears in two transitions")
    ordered = sorted(steps)
    ranks = [
        TRANSITION_ORDER.index(cls) if cls in TRANSITION_ORDER else len(TRANSITION_ORDER)
        for _, cls in ordered
    ]
    if any(b <= a for a, b in pairwise(ranks)) or any(d2 <= d1 for (d1, _), (d2, _) in pairwise(ordered)):
        add(
            ERROR,
            "transition-order",
            f"transitions must move to colder classes on strictly later days: {steps}",
        )
    ia_day = next((d for d, c in steps if c in IA_CLASSES), None)
    for days, cls in steps:
        if ia_day is not None and cls not in IA_CLASSES and days < ia_day + 30:
            add(
                ERROR,
                "ia-gap",
                f"transition to {cls} on day {days} comes less than 30 days after Standard-IA (day {ia_day})",
            )

    exp_days = _days(expiration.get("Days"))
    if expiration.get("Days") is not None and (exp_days is None or exp_days < 1):
        add(ERROR, "days", "Expiration Days must be a whole number of at least 1")
    if exp_days is not None and expiration.get("ExpiredObjectDeleteMarker"):
        add(ERROR, "expiration", "Expiration cannot hold both Days and ExpiredObjectDeleteMarker")
    if exp_days is not None and steps and exp_days <= max(d for d, _ in steps):
        add(
            ERROR,
            "expire-before-transition",
            f"expiration on day {exp_days} is not after the last transition (day {max(d for d, _ in steps)})",
        )
    if tagged and (expiration.get("ExpiredObjectDeleteMarker") or rule.get("AbortIncompleteMultipartUpload")):
        add(
            ERROR,
            "tag-filter",
            "a tag-filtered rule cannot hold ExpiredObjectDeleteMarker or AbortIncompleteMultipartUpload",
        )
    noncurrent = rule.get("NoncurrentVersionExpiration") or {}
    newer = noncurrent.get("NewerNoncurrentVersions")
    if newer is not None and (_days(newer) is None or not 1 <= newer <= 100):
        add(ERROR, "noncurrent", "NewerNoncurrentVersions must be between 1 and 100")

    # cost pitfalls: leaving a class before its minimum storage duration
    schedule = sorted(steps) + ([(exp_days, "EXPIRE")] if exp_days is not None else [])
    for (days, cls), (next_days, next_cls) in pairwise(schedule):
        minimum = MINIMUM_DAYS.get(cls, 0)
        if next_days - days < minimum:
            verb = "expire" if next_cls == "EXPIRE" else f"move to {next_cls}"
            add(
                WARNING,
                "early-deletion",
                f"objects {verb} {next_days - days} days after entering {cls}, "
                f"before its {minimum}-day minimum storage duration: each is billed for {minimum} days",
            )
    if steps and facts.transition_default_minimum_object_size == "varies_by_storage_class":
        add(
            WARNING,
            "small-objects",
            "transition_default_minimum_object_size is varies_by_storage_class: objects under 128 KB "
            "are transitioned and billed as 128 KB (IA, Glacier IR) or carry 40 KB of overhead (Glacier, Deep Archive)",
        )
    prefix = rule_prefix(rule)
    if steps and prefix is not None:
        small = sum(
            n for p, n in facts.small_objects_by_prefix if p.startswith(prefix) or prefix.startswith(p)
        )
        if small and facts.transition_default_minimum_object_size == "all_storage_classes_128K":
            add(
                INFO,
                "small-objects",
                f"{small} objects under 128 KB in this rule's scope are never transitioned (S3's default minimum size)",
            )
    return found


def _lint_bucket(rules: list[Any], facts: BucketFacts) -> list[LintFinding]:
    found: list[LintFinding] = []
    enabled = [r for r in rules if isinstance(r, dict) and r.get("Status") == "Enabled"]
    covers_all = lambda key: any(rule_prefix(r) == "" and r.get(key) for r in enabled)  # noqa: E731
    if not any(r.get("AbortIncompleteMultipartUpload") for r in enabled):
        found.append(
            LintFinding(
                WARNING,
                "no-abort-multipart",
                "-",
                "no rule aborts incomplete multipart uploads: their parts are billed until deleted",
            )
        )
    elif not covers_all("AbortIncompleteMultipartUpload"):
        found.append(
            LintFinding(
                INFO,
                "no-abort-multipart",
                "-",
                "incomplete multipart uploads are aborted only under some prefixes",
            )
        )
    if facts.versioned:
        if not any(r.get("NoncurrentVersionExpiration") for r in enabled):
            found.append(
                LintFinding(
                    WARNING,
                    "no-noncurrent-expiration",
                    "-",
                    "versioned bucket without NoncurrentVersionExpiration: deleted and overwritten data is kept and billed forever",
                )
            )
        elif not covers_all("NoncurrentVersionExpiration"):
            found.append(
                LintFinding(
                    INFO,
                    "no-noncurrent-expiration",
                    "-",
                    "noncurrent versions expire only under some prefixes",
                )
            )
        if not any((r.get("Expiration") or {}).get("ExpiredObjectDeleteMarker") for r in enabled):
            found.append(
                LintFinding(INFO, "delete-markers", "-", "no rule removes expired object delete markers")
            )
    prefixed = [(str(r.get("ID")), rule_prefix(r)) for r in enabled if rule_prefix(r) not in (None, "")]
    for i, (id_a, a) in enumerate(prefixed):
        for id_b, b in prefixed[i + 1 :]:
            if a.startswith(b) or b.startswith(a):
                found.append(
                    LintFinding(
                        WARNING,
                        "overlap",
                        f"{id_a}, {id_b}",
                        f"prefixes '{a}' and '{b}' overlap: S3 applies both rules and the cheapest action wins",
                    )
                )
    return found
