"""Terraform plan JSON, built the way `terraform show -json tfplan` writes it (format_version 1.x)."""

from __future__ import annotations

import json
from typing import Any

BUCKET_ARN = "arn:aws:s3:::acme-ml-artifacts-prod"


def resource_change(
    address: str,
    rtype: str,
    actions: list[str],
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    after_unknown: dict[str, Any] | None = None,
    replace_paths: list[list[Any]] | None = None,
) -> dict[str, Any]:
    parts = address.split(".")
    module = ".".join(parts[:-2]) if len(parts) > 2 else None
    change: dict[str, Any] = {
        "actions": actions,
        "before": before,
        "after": after,
        "after_unknown": after_unknown if after_unknown is not None else {},
        "before_sensitive": {} if before is not None else False,
        "after_sensitive": {} if after is not None else False,
    }
    if replace_paths:
        change["replace_paths"] = replace_paths
    entry: dict[str, Any] = {
        "address": address,
        "mode": "managed",
        "type": rtype,
        "name": parts[-1],
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": change,
    }
    if module:
        entry["module_address"] = module
    if "delete" in actions and "create" in actions:
        entry["action_reason"] = "replace_because_cannot_update"
    return entry


def plan(*changes: dict[str, Any]) -> dict[str, Any]:
    return {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "planned_values": {"root_module": {}},
        "resource_changes": list(changes),
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "full_name": "registry.terraform.io/hashicorp/aws"}},
            "root_module": {},
        },
        "timestamp": "2026-11-28T06:00:00Z",
        "applyable": True,
        "complete": True,
        "errored": False,
    }


def lifecycle_rule(
    rule_id: str,
    prefix: str | None = None,
    days: int | None = None,
    status: str = "Enabled",
    tag: tuple[str, str] | None = None,
    transitions: list[tuple[int, str]] = (),
) -> dict[str, Any]:
    """One `rule` block of aws_s3_bucket_lifecycle_configuration as plan JSON shows it (blocks are lists)."""
    flt: dict[str, Any] = {
        "and": [],
        "object_size_greater_than": None,
        "object_size_less_than": None,
        "prefix": prefix if tag is None else None,
        "tag": [],
    }
    if tag:
        flt["tag"] = [{"key": tag[0], "value": tag[1]}]
    return {
        "id": rule_id,
        "status": status,
        "prefix": "",
        "filter": [flt],
        "expiration": [{"date": None, "days": days, "expired_object_delete_marker": False}] if days else [],
        "noncurrent_version_expiration": [],
        "noncurrent_version_transition": [],
        "transition": [{"date": None, "days": d, "storage_class": c} for d, c in transitions],
        "abort_incomplete_multipart_upload": [],
    }


def lifecycle_values(*rules: dict[str, Any]) -> dict[str, Any]:
    return {
        "bucket": "acme-ml-artifacts-prod",
        "expected_bucket_owner": "",
        "rule": list(rules),
        "transition_default_minimum_object_size": "all_storage_classes_128K",
        "timeouts": None,
    }


def role_policy(name: str, role: str, statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "role": role,
        "policy": json.dumps({"Version": "2012-10-17", "Statement": statements}),
    }


def trust(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": "artifact-gc-prod-runner",
        "assume_role_policy": json.dumps({"Version": "2012-10-17", "Statement": statements}),
        "max_session_duration": 3600,
    }
