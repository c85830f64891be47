"""Each safeguard the README promises has a test here that fails when the safeguard is switched off
(issue 16: these were disabled one by one in a copy and the suite had stayed green)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from artifact_gc.cli import app
from artifact_gc.collect import control
from artifact_gc.collect.apply import ApplyOptions, execute_apply, prepare_apply
from artifact_gc.collect.planfile import iter_candidates
from artifact_gc.collect.planner import PlanOptions, raise_if_refused, run_plan
from artifact_gc.config import GcConfig
from artifact_gc.errors import SafetyError

from conftest import BUCKET, TABLE, World

CONFIG = GcConfig(bucket=BUCKET, registry_tables=(TABLE,), prefixes=("models/",))
HOUR = timedelta(hours=1)


def planned(world: World, tmp_path: Path, name: str = "plan.jsonl") -> Path:
    out = tmp_path / name
    raise_if_refused(
        run_plan(CONFIG, PlanOptions(out=out, max_delete_fraction=1.0), world.clients(), world.now)
    )
    return out


def options(tmp_path: Path, **changes) -> ApplyOptions:
    return ApplyOptions(audit_path=tmp_path / "audit.jsonl", max_delete_fraction=1.0, **changes)


def applied(world: World, plan: Path, opts: ApplyOptions):
    opts = replace(opts, audit_path=plan.with_name(plan.name + ".audit.jsonl"))  # one audit log per plan
    prepared = prepare_apply(plan, GcConfig(), opts, world.clients(), datetime.now(timezone.utc))
    return execute_apply(prepared, world.clients(), opts, sleep=lambda s: None)


def seed(world: World, models: int = 10) -> None:
    for i in range(models):
        world.register(f"models/m{i}/")
        world.put(f"models/m{i}/w.bin")
    world.put("models/old/w.bin")


def drop_registrations(world: World, versions: range) -> None:
    for version in versions:
        world.ddb.delete_item(TableName=TABLE, Key={"model_id": {"S": "m"}, "version": {"N": str(version)}})


# ---------------------------------------------------------------------------- registry-shrink at apply


def test_apply_refuses_a_registry_that_shrank_since_the_last_run(world: World, tmp_path: Path) -> None:
    seed(world)
    applied(world, planned(world, tmp_path, "first.jsonl"), options(tmp_path))  # baseline: 10
    world.put("models/old/w.bin")
    plan = planned(world, tmp_path)
    drop_registrations(world, range(1, 3))  # 8 of 10 left: 20 % fewer, past the 10 % limit
    with pytest.raises(SafetyError, match="8 references, 20% fewer than the 10"):
        applied(world, plan, options(tmp_path))
    assert "models/old/w.bin" in world.listed_keys()
    assert "models/m0/w.bin" in world.listed_keys()  # an unregistered model is not deleted either
    # accepted on purpose: apply proceeds, and the accepted run becomes the new baseline
    result = applied(world, plan, options(tmp_path, accept_registry_shrink=True))
    assert result.deleted == 1 and "models/old/w.bin" not in world.listed_keys()
    world.put("models/old/w.bin")
    raise_if_refused(
        run_plan(
            CONFIG,
            PlanOptions(out=tmp_path / "again.jsonl", max_delete_fraction=1.0),
            world.clients(),
            world.now,
        )
    )


def test_the_ten_percent_boundary_at_apply(world: World, tmp_path: Path) -> None:
    seed(world)
    applied(world, planned(world, tmp_path, "first.jsonl"), options(tmp_path))
    world.put("models/old/w.bin")
    plan = planned(world, tmp_path)
    drop_registrations(world, range(1, 2))  # 9 of 10: exactly 10 % fewer is allowed
    assert applied(world, plan, options(tmp_path)).deleted == 1  # and 9 becomes the new baseline max? no:
    world.put("models/old/w.bin")
    plan = planned(world, tmp_path, "second.jsonl")  # the baseline is still the largest recent run, 10
    drop_registrations(world, range(2, 3))  # 8 of 10: 20 % fewer
    with pytest.raises(SafetyError, match="20% fewer than the 10"):
        prepare_apply(plan, GcConfig(), options(tmp_path), world.clients(), datetime.now(timezone.utc))


def test_a_registry_that_shrinks_during_apply_stops_it(world: World, tmp_path: Path) -> None:
    seed(world)
    plan = planned(world, tmp_path)
    opts = options(tmp_path)
    prepared = prepare_apply(plan, GcConfig(), opts, world.clients(), datetime.now(timezone.utc))
    drop_registrations(world, range(1, 6))  # half the registry vanishes while the prompt waits
    with pytest.raises(SafetyError, match="changed while apply ran"):
        execute_apply(prepared, world.clients(), opts, sleep=lambda s: None)
    assert "models/old/w.bin" in world.listed_keys()


# ------------------------------------------------------------------------------------------- the lease


def test_restore_and_rescue_wait_for_the_lease(versioned_world: World, tmp_path: Path) -> None:
    world = versioned_world
    seed(world, models=1)
    plan = world.cli_plan(tmp_path / "p.jsonl")
    assert CliRunner().invoke(app, ["apply", str(plan), "--yes", "--max-delete-fraction", "1"]).exit_code == 0
    control.acquire(world.s3, BUCKET, HOUR, datetime.now(timezone.utc), "apply other", holder="ci-run:7")
    restore = CliRunner().invoke(app, ["restore", str(tmp_path / "p.jsonl.audit.jsonl"), "--yes"])
    assert restore.exit_code == 3 and "ci-run:7" in restore.output
    rescue = CliRunner().invoke(app, ["rescue", "--bucket", BUCKET, "--key", "models/old/w.bin"])
    assert rescue.exit_code == 3 and "ci-run:7" in rescue.output
    assert "models/old/w.bin" not in world.listed_keys()  # restore did nothing while the lease was held


def test_lock_ttl_sets_the_lease_expiry(world: World, tmp_path: Path, monkeypatch) -> None:
    seed(world, models=1)
    plan = world.cli_plan(tmp_path / "p.jsonl")
    seen = []
    original = control.acquire

    def recording_acquire(s3, bucket, ttl, now, purpose, holder=None):
        lease = original(s3, bucket, ttl, now, purpose, holder)
        seen.append(json.loads(s3.get_object(Bucket=bucket, Key=control.LOCK_KEY)["Body"].read()))
        return lease

    monkeypatch.setattr(control, "acquire", recording_acquire)
    result = CliRunner().invoke(
        app, ["apply", str(plan), "--yes", "--max-delete-fraction", "1", "--lock-ttl", "10m"]
    )
    assert result.exit_code == 0, result.output
    (lock,) = seen
    expires = datetime.fromisoformat(lock["expires_at"].replace("Z", "+00:00"))
    acquired = datetime.fromisoformat(lock["acquired_at"].replace("Z", "+00:00"))
    assert expires - acquired == timedelta(minutes=10)
    bad = CliRunner().invoke(app, ["apply", str(plan), "--yes", "--lock-ttl", "forever"])
    assert bad.exit_code == 2 and "--lock-ttl" in bad.output


def test_the_lease_is_renewed_between_batches(world: World, tmp_path: Path, monkeypatch) -> None:
    """With a TTL shorter than the run, apply must renew: a lease that lapsed mid-run could be taken."""
    seed(world, models=1)
    for i in range(4):
        world.put(f"models/x{i}/w.bin")
    plan = world.cli_plan(tmp_path / "p.jsonl")
    renewals = []
    original = control.renew

    def counting_renew(*args, **kwargs):
        renewals.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(control, "renew", counting_renew)
    # a 10 ms lease: every batch starts with less than half of it left
    result = CliRunner().invoke(
        app,
        [
            "apply",
            str(plan),
            "--yes",
            "--max-delete-fraction",
            "1",
            "--batch-size",
            "1",
            "--lock-ttl",
            "0.01s",
            # one batch at a time: with several in flight, submissions follow each other within the
            # half-TTL and a renewal per batch is not what is owed (the lease is renewed before each)
            "--concurrency",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(renewals) >= 4, result.output


# ------------------------------------------------------------------------ per-batch re-check of objects


@pytest.mark.parametrize("field", ["size", "last_modified", "etag"])
def test_an_object_that_differs_from_the_plan_in_any_field_is_kept(
    world: World, tmp_path: Path, field: str
) -> None:
    seed(world, models=1)
    plan = planned(world, tmp_path)
    lines = plan.read_text().splitlines()
    candidate = json.loads(lines[1])
    candidate[field] = {"size": 999, "last_modified": "2020-01-01T00:00:00Z", "etag": '"0000"'}[field]
    plan.write_text("\n".join([lines[0], json.dumps(candidate), *lines[2:]]) + "\n")
    result = applied(world, plan, options(tmp_path))
    assert result.changed == ["models/old/w.bin"] and result.deleted == 0
    assert "models/old/w.bin" in world.listed_keys()


# ------------------------------------------------------------------------------------ permanent deletes


def test_apply_says_when_a_deletion_is_permanent(world: World, tmp_path: Path) -> None:
    seed(world, models=1)
    plan = world.cli_plan(tmp_path / "p.jsonl")
    result = CliRunner().invoke(app, ["apply", str(plan), "--yes", "--max-delete-fraction", "1"])
    assert result.exit_code == 0
    assert "Permanently delete 1 objects" in " ".join(result.output.split())
    assert "not versioned: this cannot be undone" in " ".join(result.output.split())


def test_purge_versions_says_it_is_permanent(versioned_world: World, tmp_path: Path) -> None:
    world = versioned_world
    seed(world, models=1)
    plan = world.cli_plan(tmp_path / "p.jsonl")
    result = CliRunner().invoke(
        app, ["apply", str(plan), "--yes", "--max-delete-fraction", "1", "--purge-versions"]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Permanently delete every version of 1 objects" in text and "cannot be undone" in text
    assert "DeleteMarkers" not in world.s3.list_object_versions(Bucket=BUCKET, Prefix="models/old/")


def test_a_recoverable_delete_says_so(versioned_world: World, tmp_path: Path) -> None:
    world = versioned_world
    seed(world, models=1)
    plan = world.cli_plan(tmp_path / "p.jsonl")
    result = CliRunner().invoke(app, ["apply", str(plan), "--yes", "--max-delete-fraction", "1"])
    text = " ".join(result.output.split())
    assert "Add a delete marker to 1 objects" in text and "Recoverable" in text and "Permanently" not in text


def test_with_batches_in_flight_a_newly_registered_artifact_is_still_kept(
    world: World, tmp_path: Path
) -> None:
    """--concurrency: the registry is re-read before each batch is filtered, so a reference added while
    earlier batches are in flight still protects the later candidates it names."""
    seed(world, models=3)
    for i in range(8):
        world.put(f"models/old-{i}/w.bin")
    plan = planned(world, tmp_path)
    candidates = [c.obj.key for c in iter_candidates(plan)]
    last = candidates[-1]
    opts = options(tmp_path, concurrency=3, batch_size=1, registry_refresh_seconds=0)
    prepared = prepare_apply(plan, GcConfig(), opts, world.clients(), datetime.now(timezone.utc))
    registered = []

    def register_once(_: object) -> None:
        if not registered:
            world.register(last)
            registered.append(last)

    result = execute_apply(prepared, world.clients(), opts, sleep=lambda s: None, on_batch=register_once)
    assert last in world.listed_keys() and result.newly_protected == [last]
    assert not set(candidates[:-4]) & world.listed_keys()  # the batches before it were deleted
