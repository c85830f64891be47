"""One GC at a time (the lease) and the registry-shrink interlock, against moto."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from artifact_gc.cli.app import app
from artifact_gc.collect import control
from artifact_gc.collect.planner import PlanOptions, run_plan
from artifact_gc.collect.safety import BASELINE_WINDOW, check_registry_shrink
from artifact_gc.config import GcConfig
from artifact_gc.errors import SafetyError

from conftest import BUCKET, TABLE, World

HOUR = timedelta(hours=1)


def test_history_keeps_the_last_runs(world: World) -> None:
    for i in range(control.HISTORY_LENGTH + 5):
        control.record_run(world.s3, BUCKET, {"time": str(i), "references": i})
    runs = control.read_history(world.s3, BUCKET)
    assert len(runs) == control.HISTORY_LENGTH and runs[-1]["references"] == control.HISTORY_LENGTH + 4


def test_check_registry_shrink() -> None:
    history = [{"time": "t1", "references": 1000}, {"time": "t2", "references": 200}]
    assert check_registry_shrink([], 0, 0.1) is None
    # the largest of the recent runs is the baseline, not only the last: a slow leak is caught
    reason = check_registry_shrink(history, 200, 0.1)
    assert reason and "200 references, 80% fewer than the 1000 of the run of t1" in reason
    assert check_registry_shrink(history, 900, 0.1) is None  # exactly 10 % fewer: allowed
    assert check_registry_shrink(history, 899, 0.1) is not None  # just past 10 %: refused
    reason = check_registry_shrink(history, 150, 0.1)
    assert reason and "85% fewer than the 1000" in reason and "--accept-registry-shrink" in reason


def test_an_accepted_shrink_becomes_the_new_baseline() -> None:
    history = [
        {"time": "t1", "references": 1000},
        {"time": "t2", "references": 200, "accepted_shrink": True},
        {"time": "t3", "references": 210},
    ]
    assert check_registry_shrink(history, 190, 0.1) is None  # 190 >= 0.9 * 210
    reason = check_registry_shrink(history, 180, 0.1)
    assert reason and "fewer than the 210 of the run of t3" in reason


def test_only_the_recent_window_counts() -> None:
    old = [{"time": f"t{i}", "references": 1000} for i in range(3)]
    recent = [{"time": f"r{i}", "references": 100} for i in range(BASELINE_WINDOW)]
    assert check_registry_shrink(old + recent, 95, 0.1) is None
    assert check_registry_shrink(old + recent[1:], 95, 0.1) is not None  # one old run still in the window


def test_plan_refuses_a_shrunken_registry_unless_accepted(world: World, tmp_path: Path) -> None:
    for i in range(10):
        world.register(f"models/m{i}/")
    world.put("models/x/old.bin", age_days=30)
    control.record_run(world.s3, BUCKET, {"time": "yesterday", "references": 20})
    config = GcConfig(bucket=BUCKET, registry_tables=(TABLE,), prefixes=("models/",))
    with pytest.raises(SafetyError, match="50% fewer than the 20"):
        run_plan(
            config, PlanOptions(out=tmp_path / "p.jsonl", max_delete_fraction=1.0), world.clients(), world.now
        )
    result = run_plan(
        config,
        PlanOptions(out=tmp_path / "p.jsonl", max_delete_fraction=1.0, accept_registry_shrink=True),
        world.clients(),
        world.now,
    )
    assert result.header["registry"]["last_run"]["references"] == 20


def test_the_control_prefix_is_never_a_candidate(world: World, tmp_path: Path) -> None:
    world.register("models/keep/")
    control.record_run(world.s3, BUCKET, {"time": "t", "references": 1})
    for key in (control.HISTORY_KEY, ".artifact-gc/lock.json"):
        world.put(key, age_days=400, body=b'{"runs": []}')
    result = run_plan(
        GcConfig(bucket=BUCKET, registry_tables=(TABLE,), prefixes=("",)),
        PlanOptions(out=tmp_path / "p.jsonl", max_delete_fraction=1.0),
        world.clients(),
        world.now,
    )
    assert result.stats.candidates == 0 and result.stats.kept_by_glob == 2


# ----------------------------------------------------------------------------------------------- CLI


def _plan(world: World, tmp_path: Path) -> Path:
    world.register("models/keep/")
    world.put("models/drop/a.bin", age_days=30)
    world.put("models/keep/b.bin", age_days=30)
    return world.cli_plan(tmp_path / "plan.jsonl")


def test_apply_refuses_while_another_apply_holds_the_lease(world: World, tmp_path: Path) -> None:
    plan = _plan(world, tmp_path)
    control.acquire(world.s3, BUCKET, HOUR, world.now, "apply other.jsonl", holder="github-run-99:1")
    result = CliRunner().invoke(app, ["apply", str(plan), "--yes", "--max-delete-fraction", "1"])
    assert result.exit_code == 3
    assert "github-run-99:1 (apply other.jsonl)" in " ".join(result.output.split())
    assert "models/drop/a.bin" in world.listed_keys()


def test_apply_takes_releases_and_records(world: World, tmp_path: Path) -> None:
    plan = _plan(world, tmp_path)
    result = CliRunner().invoke(app, ["apply", str(plan), "--yes", "--max-delete-fraction", "1"])
    assert result.exit_code == 0, result.output
    lock = json.loads(world.s3.get_object(Bucket=BUCKET, Key=control.LOCK_KEY)["Body"].read())
    assert lock["released"] is True
    listed = world.s3.list_objects_v2(Bucket=BUCKET, Prefix=control.HISTORY_FOLDER)["Contents"]
    assert len(listed) == 2  # the table's own baseline, and all sources together
    for entry in listed:
        (run,) = control.read_history(world.s3, BUCKET, entry["Key"])
        assert run["references"] == 1 and run["deleted"] == 1 and run["fingerprint"].startswith("sha256:")
    # the registry then loses its only reference: the next plan refuses
    world.ddb.delete_item(TableName=TABLE, Key={"model_id": {"S": "m"}, "version": {"N": "1"}})
    world.register("models/other/")
    world.register("models/another/")
    world.cli_plan(tmp_path / "p2.jsonl")  # 2 references now, more than the 1 recorded: no shrink
    for version in (2, 3):
        world.ddb.delete_item(TableName=TABLE, Key={"model_id": {"S": "m"}, "version": {"N": str(version)}})
    world.register("s3://other-bucket/x/")  # only a reference elsewhere remains
    result = CliRunner().invoke(
        app,
        [
            "plan",
            "--bucket",
            BUCKET,
            "--registry-table",
            TABLE,
            "--prefix",
            "models/",
            "--out",
            str(tmp_path / "p3.jsonl"),
            "--allow-empty-registry",
        ],
    )
    assert result.exit_code == 3 and "--accept-registry-shrink" in result.output
