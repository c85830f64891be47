"""Safety interlocks as pure checks: each returns None or the one-line reason to refuse (exit 3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from artifact_gc.config import GcConfig, normalise_prefixes


def check_delete_limits(
    candidates: int, candidate_bytes: int, objects_in_scope: int, max_fraction: float, max_bytes: int | None
) -> str | None:
    """Refuse when a run would delete too large a share of the scope, or too many bytes."""
    if objects_in_scope and candidates / objects_in_scope > max_fraction:
        return (
            f"{candidates} of {objects_in_scope} objects in scope ({candidates / objects_in_scope:.0%}) would be deleted, "
            f"more than --max-delete-fraction {max_fraction:g}: check the registry and the scope, or raise the limit"
        )
    if max_bytes is not None and candidate_bytes > max_bytes:
        return f"{candidate_bytes} bytes would be deleted, more than --max-delete-bytes {max_bytes}"
    return None


def check_plan_age(created_at: datetime, now: datetime, max_age_seconds: float) -> str | None:
    age = (now - created_at).total_seconds()
    if age < -300:
        return f"the plan was created {-age:.0f} s in the future ({created_at.isoformat()}): check the clocks"
    if age > max_age_seconds:
        return (
            f"the plan is {age / 3600:.1f} h old, older than --max-plan-age ({max_age_seconds / 3600:g} h): "
            "run `artifact-gc plan` again"
        )
    return None


def check_restated_config(header: Mapping[str, Any], restated: GcConfig) -> str | None:
    """Everything the user restates (flags, environment, Terraform outputs) must agree with the plan."""
    registry = header.get("registry", {})
    sources = registry.get("sources", [])
    planned_tables = sorted(s["table"] for s in sources if s.get("type") == "dynamodb")
    planned_manifests = sorted(s["location"] for s in sources if s.get("type") == "manifest")
    planned_attrs = sorted({a for s in sources for a in s.get("path_attributes", [])})
    planned_sql = sorted([s["url"], s["query"]] for s in sources if s.get("type") == "sql")
    scope = header.get("scope", {})
    checks: list[tuple[str, Any, Any]] = [
        ("bucket", restated.bucket, header.get("bucket")),
        (
            "registry tables",
            sorted(restated.registry_tables) if restated.registry_tables else None,
            planned_tables,
        ),
        ("manifests", sorted(restated.manifests) if restated.manifests else None, planned_manifests),
        (
            "registry SQL sources",
            sorted([list(pair) for pair in restated.registry_sql]) if restated.registry_sql else None,
            planned_sql,
        ),
        (
            "path attributes",
            sorted(restated.path_attributes) if restated.path_attributes else None,
            planned_attrs,
        ),
        (
            "scope prefixes",
            list(normalise_prefixes(restated.prefixes)) if restated.prefixes else None,
            scope.get("prefixes"),
        ),
        ("min age (days)", restated.min_age_days, scope.get("min_age_days")),
        (
            "MLflow tracking URI",
            restated.mlflow_tracking_uri,
            next((s["url"] for s in sources if s.get("type") == "mlflow"), None)
            if restated.mlflow_tracking_uri
            else None,
        ),
        (
            "SageMaker source",
            restated.sagemaker,
            any(s.get("type") == "sagemaker" for s in sources) if restated.sagemaker is not None else None,
        ),
        # the same table name in another region is another registry
        ("region", restated.region, header.get("region")),
        (
            "access points",
            dict(restated.access_points) if restated.access_points else None,
            registry.get("access_points") or {},
        ),
    ]
    for what, given, planned in checks:
        if given is not None and given != planned:
            verb = "differ" if what.endswith("s") else "differs"
            return f"{what} {given!r} {verb} from the plan's {planned!r}: apply the plan as written, or plan again"
    return None


def check_account(planned: str | None, current: str | None) -> str | None:
    if planned is None:
        return None
    if current is None:
        return (
            f"the plan was made in AWS account {planned}, and the current account cannot be determined (STS)"
        )
    if current != planned:
        return f"the plan was made in AWS account {planned}, but these credentials are for account {current}"
    return None


BASELINE_WINDOW = 10  # runs compared against: a registry that shrinks a little every run is still caught


def shrink_baseline(history: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The run to compare with: the largest of the last BASELINE_WINDOW runs, counting back no further
    than the last run whose shrink was accepted on purpose (``--accept-registry-shrink``)."""
    recent = list(history[-BASELINE_WINDOW:])
    for index in range(len(recent) - 1, -1, -1):
        if recent[index].get("accepted_shrink"):
            recent = recent[index:]
            break
    return max(recent, key=lambda run: int(run.get("references") or 0)) if recent else None


def check_registry_shrink(
    history: Sequence[Mapping[str, Any]], references: int, max_shrink: float, what: str = "the registry"
) -> str | None:
    """Refuse when ``what`` lost more than ``max_shrink`` of its references against the baseline run:
    a half-migrated table or a wrong path attribute looks exactly like that, and would condemn everything."""
    base = shrink_baseline(history)
    if base is None:
        return None
    before = int(base.get("references") or 0)
    if before and references < before * (1 - max_shrink):
        drop = 1 - references / before
        return (
            f"{what} yields {references} references, {drop:.0%} fewer than the {before} of the run of "
            f"{base.get('time', '?')}, more than --max-registry-shrink {max_shrink:g}: check the registry, or pass "
            "--accept-registry-shrink if the shrink is real"
        )
    return None


def check_baselines_shrink(
    baselines: Mapping[str, Sequence[Mapping[str, Any]]], counts: Mapping[str, int], max_shrink: float
) -> str | None:
    """The shrink check for every baseline (each registry source, and all of them together)."""
    for name, references in counts.items():
        reason = check_registry_shrink(baselines.get(name, ()), references, max_shrink, what=name)
        if reason:
            return reason
    return None
