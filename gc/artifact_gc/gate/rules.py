"""tf-gate: refuse Terraform plans that would endanger the artifacts. Pure: plan JSON and policy in, findings out.

Reads the document of ``terraform show -json tfplan`` (format_version 1.x). A value Terraform only knows
after apply (``after_unknown``) can never be proven safe, so every rule that needs it reports it as the
rule's own finding instead of passing it.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from artifact_gc.errors import UsageError

ERROR, WARNING, OFF = "error", "warning", "off"

RULES: dict[str, str] = {
    "protected-resource-destroyed": "deleting or replacing the artifact bucket, the registry table, versioning or the public-access block",
    "force-destroy-enabled": "turning on force_destroy on a bucket",
    "versioning-suspended": "suspending (or not enabling) bucket versioning",
    "public-access-weakened": "switching off a public-access-block setting",
    "lifecycle-rule-removed": "removing or disabling a lifecycle rule, or the whole lifecycle configuration",
    "expiration-below-floor": "an expiration shorter than the floor of the prefixes it covers",
    "expiration-shortened": "an expiration shortened (still above its floor)",
    "gc-delete-outside-prefixes": "letting a GC role delete outside its prefixes",
    "wildcard-trust": "a role that trusts a wildcard principal or an unrestricted OIDC subject",
    "encryption-removed": "removing a bucket's default encryption (standalone resource or inline block)",
}
PLAN_INCOMPLETE = "plan-incomplete"  # "errored": true; not a policy rule: an incomplete plan never passes

DEFAULT_POLICY: dict[str, Any] = {
    "protected_types": [
        "aws_s3_bucket",
        "aws_dynamodb_table",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_public_access_block",
    ],
    # Minimum expiration in days, by key prefix; the longest matching prefix wins, "" is the default.
    "expiration_floors": {"": 7, "models/": 365},
    "gc_prefixes": ["checkpoints/", "experiments/", "models/"],
    # Inline/managed policies whose name or role matches are the GC's.
    "gc_policy_match": ["artifact-gc*"],
    # Rules filtered on this tag are the GC's quarantine: exempt from expiration floors.
    "quarantine_tag": {"key": "artifact-gc", "value": "condemned"},
    # Which resources the bucket/table rules and the trust rule judge: resource address globs, bucket and
    # table name globs, role name globs. Empty: every one (the safe default for a plan of only our stack).
    "select": {"addresses": [], "buckets": [], "tables": [], "roles": []},
    "rules": {
        "encryption-removed": ERROR,
        "protected-resource-destroyed": ERROR,
        "force-destroy-enabled": ERROR,
        "versioning-suspended": ERROR,
        "public-access-weakened": ERROR,
        "lifecycle-rule-removed": ERROR,
        "expiration-below-floor": ERROR,
        "expiration-shortened": WARNING,
        "gc-delete-outside-prefixes": ERROR,
        "wildcard-trust": ERROR,
    },
}


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    address: str
    message: str


@dataclass(frozen=True)
class LifecycleRow:
    """One lifecycle rule that changes, for the reviewers' before/after table."""

    address: str
    rule_id: str
    before: str
    after: str


@dataclass
class GateResult:
    findings: list[Finding] = field(default_factory=list)
    lifecycle_changes: list[LifecycleRow] = field(default_factory=list)
    resources_checked: int = 0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def passed(self) -> bool:
        return not self.errors


# ------------------------------------------------------------------------------------------- input


def load_plan(text: str, origin: str) -> dict[str, Any]:
    """Parse and sanity-check plan JSON; UsageError (exit 2) for anything that is not a usable plan."""
    try:
        plan = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{origin}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            "produce it with `terraform show -json tfplan > tfplan.json`"
        ) from exc
    if not isinstance(plan, dict):
        raise UsageError(f"{origin}: a Terraform plan is a JSON object, not {type(plan).__name__}")
    version = plan.get("format_version")
    if not isinstance(version, str) or not version.split(".")[0].isdigit():
        raise UsageError(
            f"{origin}: no format_version: is this the output of `terraform show -json` on a plan?"
        )
    if version.split(".")[0] not in ("0", "1"):
        raise UsageError(
            f"{origin}: plan format_version {version} comes from a newer Terraform than artifact-gc knows "
            "(it reads 0.x from Terraform 0.12-0.15 and 1.x): upgrade artifact-gc"
        )
    changes = plan.get("resource_changes", [])
    if not isinstance(changes, list) or not all(
        isinstance(c, dict) and isinstance(c.get("change"), dict) for c in changes
    ):
        raise UsageError(f"{origin}: resource_changes must be a list of objects with a change")
    if "planned_values" not in plan and "resource_changes" not in plan:
        raise UsageError(f"{origin}: this is a state, not a plan (no planned_values or resource_changes)")
    return plan


def load_policy(text: str | None, origin: str = "policy") -> dict[str, Any]:
    """Merge a policy file (YAML or JSON) over the defaults; UsageError on unknown keys or severities."""
    import yaml

    policy = json.loads(json.dumps(DEFAULT_POLICY))
    if text is None:
        return policy
    try:
        given = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"{origin}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(given, dict):
        raise UsageError(f"{origin}: expected a mapping of settings")
    unknown = set(given) - set(DEFAULT_POLICY)
    if unknown:
        raise UsageError(f"{origin}: unknown settings {sorted(unknown)} (known: {sorted(DEFAULT_POLICY)})")
    for key, value in given.items():
        if key == "rules":
            if not isinstance(value, dict) or set(value) - set(RULES):
                raise UsageError(
                    f"{origin}: rules must map rule names {sorted(RULES)} to error, warning or off"
                )
            for rule, severity in list(value.items()):
                if severity is False:  # YAML 1.1 reads an unquoted `off` as false
                    value[rule] = severity = OFF
                if severity not in (ERROR, WARNING, OFF):
                    raise UsageError(
                        f"{origin}: rule {rule}: severity {severity!r} must be error, warning or off"
                    )
            policy["rules"].update(value)
        elif key == "select":
            if (
                not isinstance(value, dict)
                or set(value) - set(DEFAULT_POLICY["select"])
                or not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in value.values())
            ):
                raise UsageError(
                    f"{origin}: select must map {sorted(DEFAULT_POLICY['select'])} to lists of globs"
                )
            policy["select"].update(value)
        elif key == "expiration_floors":
            if not isinstance(value, dict) or not all(isinstance(v, int) and v >= 0 for v in value.values()):
                raise UsageError(f"{origin}: expiration_floors must map prefixes to whole numbers of days")
            policy[key] = value
        else:
            policy[key] = value
    return policy


# ------------------------------------------------------------------------------------------- rules


def evaluate(plan: Mapping[str, Any], policy: Mapping[str, Any]) -> GateResult:
    """Apply every rule to every resource change."""
    result = GateResult()
    if plan.get("errored") is True:
        result.findings.append(
            Finding(
                PLAN_INCOMPLETE,
                ERROR,
                "(plan)",
                'the plan is incomplete ("errored": true): Terraform stopped planning, so what it would do is unknown',
            )
        )
    for change in plan.get("resource_changes", []):
        if change.get("mode", "managed") != "managed":
            continue
        if not _selected(change, policy.get("select") or {}):
            continue
        result.resources_checked += 1
        for rule, address, message in _check(change, policy, result):
            severity = policy["rules"].get(rule, ERROR)
            if severity != OFF:
                result.findings.append(Finding(rule, severity, address, message))
    result.findings.sort(key=lambda f: (f.severity != ERROR, f.address, f.rule))
    return result


def _check(
    change: Mapping[str, Any], policy: Mapping[str, Any], result: GateResult
) -> Iterator[tuple[str, str, str]]:
    address = change.get("address", "?")
    rtype = change.get("type", "")
    body = change["change"]
    actions = body.get("actions", [])
    before = body.get("before") or {}
    after = body.get("after") or {}
    unknown = body.get("after_unknown") or {}
    deleting = "delete" in actions

    if deleting and rtype in policy["protected_types"]:
        how = "replace" if "create" in actions else "delete"
        reason = (
            f" (forced by {_replace_paths(body)})" if how == "replace" and body.get("replace_paths") else ""
        )
        yield "protected-resource-destroyed", address, f"plan would {how} {rtype}{reason}"
    if deleting and "create" not in actions and rtype == "aws_s3_bucket_lifecycle_configuration":
        yield "lifecycle-rule-removed", address, "plan would delete the whole lifecycle configuration"
    if deleting and "create" not in actions and rtype == "aws_s3_bucket_server_side_encryption_configuration":
        yield "encryption-removed", address, "plan would delete the bucket's default encryption"
    if "delete" in actions and "create" not in actions:
        return  # nothing "after" to inspect

    if rtype == "aws_s3_bucket":
        yield from _check_inline_blocks(address, before, after, unknown, policy, result)
        if unknown.get("force_destroy"):
            yield (
                "force-destroy-enabled",
                address,
                "force_destroy is unknown until apply: cannot prove it stays off",
            )
        elif after.get("force_destroy") is True and before.get("force_destroy") is not True:
            yield (
                "force-destroy-enabled",
                address,
                "force_destroy turns on: a destroy would delete every artifact",
            )
    elif rtype == "aws_s3_bucket_versioning":
        status = _first(after.get("versioning_configuration")).get("status")
        if _is_unknown(unknown, "versioning_configuration", "status"):
            yield (
                "versioning-suspended",
                address,
                "versioning status is unknown until apply: cannot prove it stays Enabled",
            )
        elif status != "Enabled":
            yield (
                "versioning-suspended",
                address,
                f"versioning becomes {status or 'unset'}: deletes would be permanent",
            )
    elif rtype == "aws_s3_bucket_public_access_block":
        for setting in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ):
            if unknown.get(setting):
                yield "public-access-weakened", address, f"{setting} is unknown until apply"
            elif after.get(setting) is not True:
                yield "public-access-weakened", address, f"{setting} is off"
    elif rtype == "aws_s3_bucket_lifecycle_configuration":
        yield from _check_lifecycle(address, before, after, unknown, policy, result)
    elif rtype in ("aws_iam_role_policy", "aws_iam_policy"):
        yield from _check_gc_policy(address, after, unknown, policy)
    elif rtype == "aws_iam_role":
        yield from _check_trust(address, after, unknown)


_BUCKET_TYPES = ("aws_s3_bucket",)
_IAM_TYPES = ("aws_iam_role", "aws_iam_role_policy", "aws_iam_policy")


def _selected(change: Mapping[str, Any], select: Mapping[str, list[str]]) -> bool:
    """Whether the policy's selectors name this resource (no selector of its kind: every resource is)."""
    rtype = str(change.get("type", ""))
    address = str(change.get("address", ""))
    body = change.get("change") or {}
    values = {**(body.get("before") or {}), **(body.get("after") or {})}
    unknown = body.get("after_unknown") or {}

    def named(key: str, globs: list[str]) -> bool:
        name = values.get(key)
        if unknown.get(key) or not isinstance(name, str):
            return True  # a name unknown until apply could be any: judge it
        return any(fnmatch.fnmatchcase(name, g) for g in globs)

    addresses = select.get("addresses") or []
    by_address = any(fnmatch.fnmatchcase(address, g) for g in addresses)
    if rtype in _IAM_TYPES:
        roles = select.get("roles") or []
        if not (roles or addresses):
            return True
        return by_address or bool(roles and (named("name", roles) or named("role", roles)))
    buckets, tables = select.get("buckets") or [], select.get("tables") or []
    if not (addresses or buckets or tables):
        return True
    if rtype.startswith("aws_s3_bucket"):
        return by_address or bool(buckets and named("bucket", buckets))
    if rtype == "aws_dynamodb_table":
        return by_address or bool(tables and named("name", tables))
    return by_address


def _check_inline_blocks(
    address: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    unknown: Any,
    policy: Mapping[str, Any],
    result: GateResult,
) -> Iterator[tuple[str, str, str]]:
    """The inline blocks older configurations still use on aws_s3_bucket, judged like the standalone
    resources: versioning {enabled}, server_side_encryption_configuration, lifecycle_rule."""
    # Provider 3.x leaves inline versioning unknown on every new bucket: only a bucket that was versioned
    # and may stop being so is judged here (the standalone aws_s3_bucket_versioning rule covers the rest).
    if _first(before.get("versioning")).get("enabled"):
        if _is_unknown(unknown, "versioning"):
            yield "versioning-suspended", address, "inline versioning is unknown until apply"
        elif not _first(after.get("versioning")).get("enabled"):
            yield (
                "versioning-suspended",
                address,
                "inline versioning is switched off: deletes would be permanent",
            )
    if before.get("server_side_encryption_configuration") and not (
        after.get("server_side_encryption_configuration")
        or unknown.get("server_side_encryption_configuration")
    ):
        yield "encryption-removed", address, "the inline server_side_encryption_configuration is removed"
    if before.get("lifecycle_rule") or after.get("lifecycle_rule") or unknown.get("lifecycle_rule"):
        yield from _check_lifecycle(
            address,
            {"rule": [_standalone_rule(r) for r in before.get("lifecycle_rule") or []]},
            {"rule": [_standalone_rule(r) for r in after.get("lifecycle_rule") or []]},
            _standalone_unknown(unknown.get("lifecycle_rule")),
            policy,
            result,
        )


def _standalone_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """An inline ``lifecycle_rule`` in the shape of ``aws_s3_bucket_lifecycle_configuration``'s ``rule``."""
    tags = rule.get("tags") or {}
    tag = [{"key": k, "value": v} for k, v in list(tags.items())[:1]] if len(tags) == 1 else []
    return {
        "id": rule.get("id"),
        "status": "Enabled" if rule.get("enabled") else "Disabled",
        "filter": [{"prefix": rule.get("prefix") or "", "tag": tag}],
        "expiration": rule.get("expiration") or [],
        "transition": rule.get("transition") or [],
        "noncurrent_version_expiration": [
            {"noncurrent_days": n.get("days")} for n in rule.get("noncurrent_version_expiration") or []
        ],
    }


def _standalone_unknown(unknown: Any) -> Any:
    if unknown is True:
        return {"rule": True}
    if not isinstance(unknown, list):
        return {}
    return {
        "rule": [
            {
                "status": u.get("enabled"),
                "filter": u.get("prefix") or u.get("tags"),
                "expiration": u.get("expiration"),
                "id": u.get("id"),
            }
            if isinstance(u, dict)
            else u
            for u in unknown
        ]
    }


def _replace_paths(body: Mapping[str, Any]) -> str:
    return ", ".join(".".join(str(p) for p in path) for path in body.get("replace_paths", []))


def _first(value: Any) -> dict[str, Any]:
    """Nested blocks appear in plan JSON as lists of objects."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return value if isinstance(value, dict) else {}


def _is_unknown(unknown: Any, *path: Any) -> bool:
    """True when after_unknown marks the value at ``path``, anything inside it, or anything enclosing it."""
    node = unknown
    for step in path:
        if node is True:
            return True
        if isinstance(node, list):
            node = node[0] if node else None
        if not isinstance(node, dict):
            return False
        node = node.get(step)
    return _contains_true(node)


def _contains_true(node: Any) -> bool:
    if node is True:
        return True
    if isinstance(node, dict):
        return any(_contains_true(v) for v in node.values())
    if isinstance(node, list):
        return any(_contains_true(v) for v in node)
    return False


# ---------------------------------------------------------------------------------------- lifecycle


@dataclass(frozen=True)
class _Rule:
    rule_id: str
    status: str
    prefix: str
    tag: tuple[str, str] | None
    expiration_days: int | None
    noncurrent_days: int | None
    transitions: tuple[tuple[int, str], ...]
    unknown: bool
    expiration_date: str | None = None

    def summary(self) -> str:
        parts = [f"{days} d → {cls}" for days, cls in self.transitions]
        if self.expiration_days is not None:
            parts.append(f"expire {self.expiration_days} d")
        if self.expiration_date:
            parts.append(f"expire on {self.expiration_date}")
        if self.noncurrent_days is not None:
            parts.append(f"noncurrent {self.noncurrent_days} d")
        scope = f"tag {self.tag[0]}={self.tag[1]}" if self.tag else f"prefix '{self.prefix}'"
        state = "" if self.status == "Enabled" else f" [{self.status}]"
        return f"{scope}: {', '.join(parts) or 'no actions'}{state}" + (
            " (values unknown until apply)" if self.unknown else ""
        )


def _lifecycle_rules(value: Mapping[str, Any], unknown: Any) -> dict[str, _Rule]:
    rules = {}
    unknown_rules = unknown.get("rule") if isinstance(unknown, dict) else None
    for index, rule in enumerate(value.get("rule") or []):
        flt = _first(rule.get("filter"))
        conjunction = _first(flt.get("and"))
        tag = _first(flt.get("tag"))
        expiration = _first(rule.get("expiration"))
        noncurrent = _first(rule.get("noncurrent_version_expiration"))
        rule_unknown = unknown_rules is True or (
            isinstance(unknown_rules, list)
            and index < len(unknown_rules)
            and _verdict_unknown(unknown_rules[index])
        )
        transitions = tuple(
            sorted(
                (int(t.get("days") or 0), str(t.get("storage_class")))
                for t in rule.get("transition") or []
                if isinstance(t, dict)
            )
        )
        rule_id = str(rule.get("id") or f"#{index}")
        rules[rule_id] = _Rule(
            rule_id=rule_id,
            status=str(rule.get("status") or "?"),
            prefix=str(flt.get("prefix") or conjunction.get("prefix") or rule.get("prefix") or ""),
            tag=(str(tag.get("key")), str(tag.get("value"))) if tag.get("key") else None,
            expiration_days=expiration.get("days")
            if isinstance(expiration.get("days"), int) and expiration.get("days")
            else None,
            noncurrent_days=noncurrent.get("noncurrent_days")
            if isinstance(noncurrent.get("noncurrent_days"), int)
            else None,
            transitions=transitions,
            unknown=rule_unknown,
            expiration_date=str(expiration["date"]) if expiration.get("date") else None,
        )
    return rules


def _verdict_unknown(rule_unknown: Any) -> bool:
    """Only unknowns that can change a rule's verdict count: its id, status, filter, prefix, expiration
    days or date. (The AWS provider leaves ``expired_object_delete_marker`` unknown on a new configuration;
    that cannot make an expiration shorter.)"""
    if rule_unknown is True:
        return True
    if not isinstance(rule_unknown, dict):
        return False
    return any(
        _is_unknown(rule_unknown, *path)
        for path in (
            ("id",),
            ("status",),
            ("filter",),
            ("prefix",),
            ("expiration", "days"),
            ("expiration", "date"),
        )
    )


def floor_for(prefix: str, floors: Mapping[str, int]) -> tuple[int, str]:
    """The strictest floor among the prefixes a rule's objects can fall under (overlapping either way)."""
    covering = [(days, p) for p, days in floors.items() if prefix.startswith(p) or p.startswith(prefix)]
    return max(covering, default=(0, ""))


def _check_lifecycle(
    address: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    unknown: Any,
    policy: Mapping[str, Any],
    result: GateResult,
) -> Iterator[tuple[str, str, str]]:
    old = _lifecycle_rules(before, {})
    new = _lifecycle_rules(after, unknown)
    if isinstance(unknown, dict) and unknown.get("rule") is True:
        yield (
            "lifecycle-rule-removed",
            address,
            "the lifecycle rules are unknown until apply: cannot prove none is removed",
        )
        return
    quarantine = policy.get("quarantine_tag") or {}
    quarantine_tag = (str(quarantine.get("key")), str(quarantine.get("value"))) if quarantine else None
    for rule_id in sorted(set(old) | set(new)):
        before_rule, after_rule = old.get(rule_id), new.get(rule_id)
        if before_rule != after_rule:
            result.lifecycle_changes.append(
                LifecycleRow(
                    address,
                    rule_id,
                    before_rule.summary() if before_rule else "—",
                    after_rule.summary() if after_rule else "(removed)",
                )
            )
        if after_rule is None:
            yield "lifecycle-rule-removed", address, f"lifecycle rule {rule_id!r} is removed"
            continue
        if after_rule.status != "Enabled" and (before_rule is None or before_rule.status == "Enabled"):
            yield "lifecycle-rule-removed", address, f"lifecycle rule {rule_id!r} becomes {after_rule.status}"
        if after_rule.unknown:
            yield (
                "expiration-below-floor",
                address,
                f"lifecycle rule {rule_id!r} has values unknown until apply: cannot check its expiration",
            )
            continue
        if quarantine_tag and after_rule.tag == quarantine_tag:
            continue
        if after_rule.expiration_date and (
            before_rule is None or before_rule.expiration_date != after_rule.expiration_date
        ):
            yield (
                "expiration-below-floor",
                address,
                f"lifecycle rule {rule_id!r} expires every object under '{after_rule.prefix}' on "
                f"{after_rule.expiration_date}, whatever its age: no floor holds",
            )
        days = after_rule.expiration_days
        if days is None:
            continue
        floor, floor_prefix = floor_for(after_rule.prefix, policy["expiration_floors"])
        if days < floor:
            yield (
                "expiration-below-floor",
                address,
                f"lifecycle rule {rule_id!r} expires objects under '{after_rule.prefix}' after {days} days, "
                f"below the {floor}-day floor for '{floor_prefix}'",
            )
        elif before_rule and before_rule.expiration_days is not None and days < before_rule.expiration_days:
            yield (
                "expiration-shortened",
                address,
                f"lifecycle rule {rule_id!r} shortens expiration from {before_rule.expiration_days} to {days} days",
            )


# ---------------------------------------------------------------------------------------------- IAM


def _policy_document(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            document = json.loads(value)
        except json.JSONDecodeError:
            return None
        return document if isinstance(document, dict) else None
    return None


def _statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [s for s in (statements if isinstance(statements, list) else [statements]) if isinstance(s, dict)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _check_gc_policy(
    address: str, after: Mapping[str, Any], unknown: Any, policy: Mapping[str, Any]
) -> Iterator[tuple[str, str, str]]:
    names = [str(after.get(k) or "") for k in ("name", "role")]
    if not any(fnmatch.fnmatchcase(name, pattern) for name in names for pattern in policy["gc_policy_match"]):
        return
    if isinstance(unknown, dict) and unknown.get("policy"):
        yield (
            "gc-delete-outside-prefixes",
            address,
            "the GC policy document is unknown until apply: cannot prove its deletes stay inside the GC prefixes",
        )
        return
    document = _policy_document(after.get("policy"))
    if document is None:
        yield "gc-delete-outside-prefixes", address, "the GC policy document cannot be parsed"
        return
    prefixes = policy["gc_prefixes"]
    for statement in _statements(document):
        if statement.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        deletes = [
            a
            for a in actions
            if fnmatch.fnmatchcase("s3:DeleteObject", a) or fnmatch.fnmatchcase("s3:DeleteObjectVersion", a)
        ]
        if not deletes:
            continue
        if "NotResource" in statement:
            yield (
                "gc-delete-outside-prefixes",
                address,
                f"statement {statement.get('Sid', '?')} allows {deletes} on NotResource: everything else",
            )
            continue
        for resource in _as_list(statement.get("Resource", [])):
            key = _object_key_pattern(resource)
            if key is None or not any(key.startswith(p) for p in prefixes if p):
                yield (
                    "gc-delete-outside-prefixes",
                    address,
                    f"statement {statement.get('Sid', '?')} allows {', '.join(deletes)} on {resource}, outside the GC prefixes {prefixes}",
                )


def _object_key_pattern(resource: Any) -> str | None:
    """``arn:aws:s3:::bucket/models/*`` -> ``models/*``; None for ``*`` or anything not an object ARN."""
    _, sep, rest = str(resource).partition(":::")
    bucket, slash, key = rest.partition("/")
    return key if sep and slash and bucket and "*" not in bucket else None


def _check_trust(address: str, after: Mapping[str, Any], unknown: Any) -> Iterator[tuple[str, str, str]]:
    if isinstance(unknown, dict) and unknown.get("assume_role_policy"):
        yield (
            "wildcard-trust",
            address,
            "the trust policy is unknown until apply: cannot prove it trusts no wildcard",
        )
        return
    document = _policy_document(after.get("assume_role_policy"))
    if document is None:
        return
    for statement in _statements(document):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        sid = statement.get("Sid", "?")
        principals = (
            [principal]
            if isinstance(principal, str)
            else [v for values in (principal or {}).values() for v in _as_list(values)]
            if isinstance(principal, dict)
            else []
        )
        if any(p == "*" or (isinstance(p, str) and "*" in p) for p in principals):
            yield "wildcard-trust", address, f"statement {sid} trusts a wildcard principal"
        federated = principal.get("Federated") if isinstance(principal, dict) else None
        if federated and "token.actions.githubusercontent.com" in str(federated):
            conditions = statement.get("Condition", {}) or {}
            subjects = [
                s
                for op in conditions.values()
                if isinstance(op, dict)
                for key, values in op.items()
                if key.endswith(":sub")
                for s in _as_list(values)
            ]
            if not subjects:
                yield (
                    "wildcard-trust",
                    address,
                    f"statement {sid} trusts GitHub OIDC without restricting the subject (any repository could assume it)",
                )
            for subject in subjects:
                if _subject_is_open(subject):
                    yield (
                        "wildcard-trust",
                        address,
                        f"statement {sid} trusts OIDC subject {subject!r}, which matches any repository",
                    )


def _subject_is_open(subject: Any) -> bool:
    """A GitHub OIDC subject that does not pin one repository: ``*``, ``repo:*``, ``repo:acme/*``, ..."""
    if not isinstance(subject, str) or not subject.startswith("repo:"):
        return True
    owner, _, name = subject[len("repo:") :].split(":", 1)[0].partition("/")
    return not owner or not name or "*" in owner or "*" in name or "?" in owner or "?" in name
