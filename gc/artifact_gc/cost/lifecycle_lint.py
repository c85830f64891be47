"""Lint an S3 lifecycle configuration (the boto3 ``Rules`` shape): what S3 would reject, what bills badly.

Pure: the configuration and a few facts about the bucket (versioned, object sizes under each prefix) go
in, findings with a severity come out. ``error`` means S3 rejects the configuration (or it cannot be
read); ``warning`` a cost pitfall; ``info`` something worth knowing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from artifact_gc.cost.lifecycle import rule_prefix, rule_shape_problems

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
    shaped = []
    for index, rule in enumerate(rules):
        problems = rule_shape_problems(rule, f"Rules[{index}]")
        if problems:  # the other checks read the rule's fields by their types
            rid = str(rule.get("ID") or f"#{index}") if isinstance(rule, dict) else f"#{index}"
            found += [LintFinding(ERROR, "shape", rid, problem) for problem in problems]
            continue
        shaped.append(rule)
        found += _lint_rule(rule, index, facts)
    found += _lint_bucket(shaped, facts)
    order = {ERROR: 0, WARNING: 1, INFO: 2}
    return sorted(found, key=lambda f: (order[f.severity], f.rule_id, f.check))


def _lint_rule(rule: Mapping[str, Any], index: int, facts: BucketFacts) -> list[LintFinding]:
    rid = str(rule.get("ID") or f"#{index}")
    found: list[LintFinding] = []

    def add(severity: str, check: str, message: str) -> None:
        found.append(LintFinding(severity, check, rid, message))

    # A rule without ID is valid: S3 assigns one.
    if rule.get("ID") and len(str(rule["ID"])) > 255:
        add(ERROR, "id", "rule IDs are limited to 255 characters")
    status = rule.get("Status")
    if status not in ("Enabled", "Disabled"):
        add(ERROR, "status", f"Status must be Enabled or Disabled, not {status!r}")
    elif status == "Disabled":
        add(INFO, "disabled", "the rule is disabled: none of its actions run")
    if "Filter" not in rule and "Prefix" not in rule:
        add(ERROR, "filter", "every rule needs a Filter (an empty Filter means the whole bucket)")
    if "Filter" in rule and "Prefix" in rule:
        add(ERROR, "filter", "a rule cannot hold both Filter and the legacy top-level Prefix")
    flt = rule.get("Filter") or {}
    if isinstance(flt, dict):
        conditions = [k for k in ("Prefix", "Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan") if k in flt]
        if len(conditions) > 1:
            add(ERROR, "filter", f"a Filter holding {' and '.join(conditions)} must combine them in And")
        if "And" in flt and conditions:
            add(ERROR, "filter", f"a Filter holds either And or one condition, not And with {conditions[0]}")
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

    steps = _transitions(transitions, "Days", "Date", "", add)
    _transitions(rule.get("NoncurrentVersionTransitions") or [], "NoncurrentDays", None, "noncurrent ", add)

    exp_days = _days(expiration.get("Days"))
    if expiration.get("Days") is not None and (exp_days is None or exp_days < 1):
        add(ERROR, "days", "Expiration Days must be a whole number of at least 1")
    if "Date" in expiration and not _midnight_utc(expiration["Date"]):
        add(ERROR, "date", f"Expiration Date {expiration['Date']!r} must be an ISO 8601 date at midnight UTC")
    if "ExpiredObjectDeleteMarker" in expiration and ("Days" in expiration or "Date" in expiration):
        add(
            ERROR, "expiration", "Expiration cannot hold ExpiredObjectDeleteMarker together with Days or Date"
        )
    if "Days" in expiration and "Date" in expiration:
        add(ERROR, "expiration", "Expiration holds either Days or Date, not both")
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
    nc_days = _days(noncurrent.get("NoncurrentDays"))
    nc_steps = [
        _days(t.get("NoncurrentDays"))
        for t in rule.get("NoncurrentVersionTransitions") or []
        if isinstance(t, dict) and _days(t.get("NoncurrentDays")) is not None
    ]
    if noncurrent and (nc_days is None or nc_days < 1):
        add(ERROR, "noncurrent", "NoncurrentVersionExpiration needs NoncurrentDays of at least 1")
    elif nc_days is not None and nc_steps and nc_days <= max(nc_steps):
        add(
            ERROR,
            "expire-before-transition",
            f"noncurrent expiration on day {nc_days} is not after the last noncurrent transition (day {max(nc_steps)})",
        )

    # cost pitfalls: leaving a class before its minimum storage duration
    schedule = sorted(steps) + ([(exp_days, "EXPIRE")] if exp_days is not None else [])
    for (days, cls), (next_days, next_cls) in pairwise(schedule):
        minimum = MINIMUM_DAYS.get(cls, 0)
        if next_days <= days:
            continue  # out of order: an error above says so, a negative stay would say nothing true
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


def _midnight_utc(value: Any) -> bool:
    """S3 takes lifecycle dates in ISO 8601 at midnight UTC (2027-01-01, or 2027-01-01T00:00:00Z)."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return False
    if moment.tzinfo is not None and moment.utcoffset() != timedelta(0):
        return False
    return (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0)


def _transitions(
    transitions: Any, days_key: str, date_key: str | None, kind: str, add: Any
) -> list[tuple[int, str]]:
    """Check one list of transitions (current or noncurrent); return its (days, class) steps in order.

    S3's rules: each needs Days (or, for current versions, a Date) and a StorageClass; classes only get
    colder (the supported waterfall), on strictly later days; Standard-IA and One Zone-IA need 30 days;
    a class entered after an IA class needs 30 more days (the gap applies only after an IA class).
    """
    steps: list[tuple[int, str]] = []
    dated = 0
    for transition in transitions if isinstance(transitions, list) else []:
        if not isinstance(transition, dict):
            add(ERROR, "shape", f"a {kind}transition must be an object")
            continue
        cls = str(transition.get("StorageClass"))
        if cls not in TRANSITION_ORDER:
            add(ERROR, "storage-class", f"{kind}transition to {cls}: not a class S3 transitions to")
            continue
        if date_key and date_key in transition:
            dated += 1
            if days_key in transition:
                add(ERROR, "days", f"{kind}transition to {cls}: holds both {days_key} and {date_key}")
            elif not _midnight_utc(transition[date_key]):
                add(ERROR, "date", f"transition to {cls}: Date must be an ISO 8601 date at midnight UTC")
            continue
        days = _days(transition.get(days_key))
        if days is None or days < 0:
            add(ERROR, "days", f"{kind}transition to {cls}: {days_key} must be a whole number of 0 or more")
            continue
        if cls in IA_CLASSES and days < 30:
            add(ERROR, "ia-too-soon", f"{kind}transition to {cls} after {days} days: S3 requires at least 30")
        steps.append((days, cls))
    if dated and steps:
        add(ERROR, "days", f"{kind}transitions mix {days_key} and Date: use one or the other")
    classes = [cls for _, cls in steps]
    if len(set(classes)) != len(classes):
        add(ERROR, "transition-order", f"a storage class appears in two {kind}transitions")
    ordered = sorted(steps)
    ranks = [TRANSITION_ORDER.index(cls) for _, cls in ordered]
    if any(b <= a for a, b in pairwise(ranks)) or any(d2 <= d1 for (d1, _), (d2, _) in pairwise(ordered)):
        add(
            ERROR,
            "transition-order",
            f"{kind}transitions must move to colder classes (S3's supported waterfall) on strictly later days: {steps}",
        )
    ia_day = next((d for d, c in ordered if c in IA_CLASSES), None)
    for days, cls in ordered:
        if ia_day is not None and days > ia_day and days < ia_day + 30:
            add(
                ERROR,
                "ia-gap",
                f"{kind}transition to {cls} on day {days} comes less than 30 days after an IA class (day {ia_day})",
            )
    return steps


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
