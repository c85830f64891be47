"""The safety interlocks as pure functions: each boundary, each field, each message (no emulator).

These are the tests `make mutation` runs against collect/safety.py: every comparison is pinned on both
sides of its boundary, and each refusal's full message is asserted, since the message is what a user acts on.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from artifact_gc.collect.safety import (
    BASELINE_WINDOW,
    check_account,
    check_baselines_shrink,
    check_delete_limits,
    check_plan_age,
    check_registry_shrink,
    check_restated_config,
    shrink_baseline,
)
from artifact_gc.config import GcConfig

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


# ------------------------------------------------------------------------------------ delete limits


def test_delete_fraction_boundary_and_message() -> None:
    assert check_delete_limits(50, 0, 100, 0.5, None) is None  # exactly the limit passes
    assert check_delete_limits(51, 0, 100, 0.5, None) == (
        "51 of 100 objects in scope (51%) would be deleted, more than --max-delete-fraction 0.5: "
        "check the registry and the scope, or raise the limit"
    )
    assert check_delete_limits(5, 0, 0, 0.5, None) is None  # an empty scope has no fraction
    assert check_delete_limits(1, 0, 1, 1.0, None) is None


def test_delete_bytes_boundary_and_message() -> None:
    assert check_delete_limits(1, 1000, 10, 1.0, 1000) is None
    assert check_delete_limits(1, 1001, 10, 1.0, 1000) == (
        "1001 bytes would be deleted, more than --max-delete-bytes 1000"
    )
    assert check_delete_limits(1, 10**15, 10, 1.0, None) is None
    assert check_delete_limits(0, 1, 10, 1.0, 0) is not None  # a zero byte limit is a limit


# ------------------------------------------------------------------------------------------ plan age


def test_plan_age_boundaries_and_messages() -> None:
    assert check_plan_age(NOW - timedelta(hours=24), NOW, 24 * 3600) is None
    assert check_plan_age(NOW - timedelta(hours=24, seconds=1), NOW, 24 * 3600) == (
        "the plan is 24.0 h old, older than --max-plan-age (24 h): run `artifact-gc plan` again"
    )
    assert check_plan_age(NOW + timedelta(seconds=300), NOW, 3600) is None  # clock skew tolerated
    future = NOW + timedelta(seconds=301)
    assert check_plan_age(future, NOW, 3600) == (
        f"the plan was created 301 s in the future ({future.isoformat()}): check the clocks"
    )


# ---------------------------------------------------------------------------------- restated config

HEADER: dict[str, Any] = {
    "bucket": "b",
    "region": "eu-west-1",
    "scope": {"prefixes": ["models/"], "min_age_days": 7},
    "registry": {
        "sources": [
            {"type": "dynamodb", "table": "t2", "path_attributes": ["path"]},
            {"type": "dynamodb", "table": "t1", "path_attributes": ["uri", "path"]},
            {"type": "manifest", "location": "m2.txt"},
            {"type": "manifest", "location": "m1.txt"},
            {"type": "sql", "url": "sqlite:///r.db", "query": "select p from t"},
            {"type": "mlflow", "url": "http://mlflow:5000"},
            {"type": "sagemaker"},
        ],
        "access_points": {"ap1": "b"},
    },
}

AGREEING = GcConfig(
    bucket="b",
    region="eu-west-1",
    registry_tables=("t1", "t2"),
    path_attributes=("uri", "path"),
    manifests=("m1.txt", "m2.txt"),
    prefixes=("models/",),
    min_age_days=7,
    registry_sql=(("sqlite:///r.db", "select p from t"),),
    mlflow_tracking_uri="http://mlflow:5000",
    sagemaker=True,
    access_points=(("ap1", "b"),),
)


def test_a_restatement_that_agrees_in_every_field_passes() -> None:
    assert check_restated_config(HEADER, AGREEING) is None
    assert check_restated_config(HEADER, GcConfig()) is None  # nothing restated: nothing to compare


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bucket": "c"}, "bucket 'c' differs from the plan's 'b'"),
        ({"region": "us-east-1"}, "region 'us-east-1' differs from the plan's 'eu-west-1'"),
        ({"registry_tables": ("t1",)}, "registry tables ['t1'] differ from the plan's ['t1', 't2']"),
        ({"path_attributes": ("path",)}, "path attributes ['path'] differ from the plan's ['path', 'uri']"),
        ({"manifests": ("m1.txt",)}, "manifests ['m1.txt'] differ from the plan's ['m1.txt', 'm2.txt']"),
        ({"prefixes": ("data/",)}, "scope prefixes ['data/'] differ from the plan's ['models/']"),
        ({"min_age_days": 8}, "min age (days) 8 differs from the plan's 7"),
        ({"min_age_days": 0}, "min age (days) 0 differs from the plan's 7"),
        (
            {"registry_sql": (("sqlite:///r.db", "select q from t"),)},
            "registry SQL sources [['sqlite:///r.db', 'select q from t']] differ from the plan's "
            "[['sqlite:///r.db', 'select p from t']]",
        ),
        (
            {"mlflow_tracking_uri": "http://other:5000"},
            "MLflow tracking URI 'http://other:5000' differs from the plan's 'http://mlflow:5000'",
        ),
        ({"sagemaker": False}, "SageMaker source False differs from the plan's True"),
        (
            {"access_points": (("ap1", "c"),)},
            "access points {'ap1': 'c'} differ from the plan's {'ap1': 'b'}",
        ),
    ],
)
def test_each_restated_field_that_differs_is_named(change: dict[str, Any], message: str) -> None:
    restated = GcConfig(**{**AGREEING.__dict__, **change})
    assert check_restated_config(HEADER, restated) == (f"{message}: apply the plan as written, or plan again")


def test_restated_sources_the_plan_does_not_have_are_refused() -> None:
    bare = {"bucket": "b", "scope": {"prefixes": ["models/"]}, "registry": {"sources": []}}
    assert "MLflow tracking URI 'http://m' differs from the plan's None" in str(
        check_restated_config(bare, GcConfig(mlflow_tracking_uri="http://m"))
    )
    assert "SageMaker source True differs from the plan's False" in str(
        check_restated_config(bare, GcConfig(sagemaker=True))
    )
    assert "access points {'a': 'b'} differ from the plan's {}" in str(
        check_restated_config(bare, GcConfig(access_points=(("a", "b"),)))
    )
    # a scope restated in another spelling of the same prefixes agrees
    assert check_restated_config(bare, GcConfig(prefixes=("models/", "models/"))) is None


# ------------------------------------------------------------------------------------------- account


def test_account_checks() -> None:
    assert check_account(None, None) is None
    assert check_account("111", "111") is None
    assert check_account("111", None) == (
        "the plan was made in AWS account 111, and the current account cannot be determined (STS)"
    )
    assert check_account("111", "222") == (
        "the plan was made in AWS account 111, but these credentials are for account 222"
    )


# --------------------------------------------------------------------------------------------- shrink


def run(references: int, time: str = "t", accepted: bool = False) -> dict[str, Any]:
    return {"time": time, "references": references} | ({"accepted_shrink": True} if accepted else {})


def test_the_baseline_is_the_largest_recent_run() -> None:
    assert shrink_baseline([]) is None
    history = [run(1000, "old")] + [run(i, str(i)) for i in range(1, BASELINE_WINDOW + 1)]
    # the 1,000-reference run is one past the window: the baseline is the largest of the last ten
    assert shrink_baseline(history) == run(BASELINE_WINDOW, str(BASELINE_WINDOW))


def test_the_window_holds_exactly_ten_runs() -> None:
    history = [run(500, "first")] + [run(1, str(i)) for i in range(BASELINE_WINDOW - 1)]
    assert len(history) == BASELINE_WINDOW
    assert shrink_baseline(history) == run(500, "first")
    assert shrink_baseline([*history, run(1, "next")]) == run(1, "0")


def test_an_accepted_shrink_cuts_the_window_and_counts_itself() -> None:
    history = [run(900, "before"), run(100, "accepted", accepted=True), run(50, "after")]
    assert shrink_baseline(history) == run(100, "accepted", accepted=True)
    # the latest acceptance is the one that counts
    history = [run(900), run(800, "a1", accepted=True), run(10, "a2", accepted=True), run(5, "x")]
    assert shrink_baseline(history) == run(10, "a2", accepted=True)
    # an acceptance as the very first run still cuts nothing older
    assert shrink_baseline([run(7, "only", accepted=True)]) == run(7, "only", accepted=True)


def test_missing_or_null_reference_counts_read_as_zero() -> None:
    assert shrink_baseline([{"time": "a"}, run(3, "b"), {"time": "c", "references": None}]) == run(3, "b")
    assert check_registry_shrink([{"time": "a"}], 0, 0.1) is None  # nothing to lose


def test_the_shrink_boundary_and_message() -> None:
    history = [run(100, "2026-11-01")]
    assert check_registry_shrink(history, 90, 0.1) is None  # exactly 10 % fewer passes
    assert check_registry_shrink(history, 89, 0.1) == (
        "the registry yields 89 references, 11% fewer than the 100 of the run of 2026-11-01, more than "
        "--max-registry-shrink 0.1: check the registry, or pass --accept-registry-shrink if the shrink is real"
    )
    assert check_registry_shrink(history, 150, 0.1) is None  # growth is fine
    assert check_registry_shrink(history, 0, 0.999) is not None
    assert check_registry_shrink([{"references": 10}], 1, 0.5) == (
        "the registry yields 1 references, 90% fewer than the 10 of the run of ?, more than "
        "--max-registry-shrink 0.5: check the registry, or pass --accept-registry-shrink if the shrink is real"
    )
    assert check_registry_shrink([], 0, 0.1) is None  # a first run has nothing to compare with


def test_every_baseline_is_checked_and_the_shrunk_one_named() -> None:
    baselines = {"all sources": [run(100)], "dynamodb table t": [run(50)]}
    assert check_baselines_shrink(baselines, {"all sources": 100, "dynamodb table t": 50}, 0.1) is None
    reason = check_baselines_shrink(baselines, {"all sources": 100, "dynamodb table t": 10}, 0.1)
    assert reason is not None and reason.startswith("dynamodb table t yields 10 references, 80% fewer")
    first = check_baselines_shrink(baselines, {"all sources": 1, "dynamodb table t": 1}, 0.1)
    assert first is not None and first.startswith("all sources yields 1 references")
    # a source without history is a first run for that source
    assert check_baselines_shrink(baselines, {"new source": 0}, 0.1) is None


def test_plan_age_message_shows_hours() -> None:
    assert check_plan_age(NOW - timedelta(hours=1000), NOW, 3600) == (
        "the plan is 1000.0 h old, older than --max-plan-age (1 h): run `artifact-gc plan` again"
    )


def test_a_header_missing_whole_sections_is_compared_field_by_field() -> None:
    assert check_restated_config({}, GcConfig(bucket="b")) == (
        "bucket 'b' differs from the plan's None: apply the plan as written, or plan again"
    )
    assert check_restated_config({"registry": {}}, GcConfig(registry_tables=("t",))) == (
        "registry tables ['t'] differ from the plan's []: apply the plan as written, or plan again"
    )
    assert check_restated_config({"bucket": "b"}, GcConfig(prefixes=("a/",))) == (
        "scope prefixes ['a/'] differ from the plan's None: apply the plan as written, or plan again"
    )


def test_a_plan_with_only_a_sagemaker_source_needs_sagemaker_restated_as_on() -> None:
    header = {"registry": {"sources": [{"type": "sagemaker"}]}}
    assert check_restated_config(header, GcConfig(sagemaker=True)) is None
    assert check_restated_config(header, GcConfig(sagemaker=False)) == (
        "SageMaker source False differs from the plan's True: apply the plan as written, or plan again"
    )


def test_an_accepted_shrink_as_the_latest_run_is_the_baseline() -> None:
    assert shrink_baseline([run(900, "before"), run(100, "accepted", accepted=True)]) == run(
        100, "accepted", accepted=True
    )


def test_of_equal_counts_the_earliest_run_is_the_baseline() -> None:
    first = {"time": "a", "references": 0}
    assert shrink_baseline([first, run(0, "b")]) is first
    assert shrink_baseline([{"time": "a"}, run(1, "b")]) == run(1, "b")
