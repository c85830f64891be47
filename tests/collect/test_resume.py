"""Resumable apply: an apply stopped anywhere continues from its journal, no batch sent twice after it
succeeded, the audit log complete and free of duplicates."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from artifact_gc.collect.apply import ApplyOptions, execute_apply, prepare_apply
from artifact_gc.collect.planner import PlanOptions, run_plan
from artifact_gc.config import GcConfig

from conftest import BUCKET, TABLE, World

KEYS = [f"models/drop/{i:02d}" for i in range(7)]


class Crash(BaseException):
    """Stands for a kill -9 or Ctrl-C: not an Exception, so nothing on the way catches it."""


def setup(world: World, tmp_path: Path) -> tuple[Path, ApplyOptions]:
    world.register("models/keep/")
    world.put("models/keep/x", age_days=30)
    for key in KEYS:
        world.put(key, age_days=30, body=key.encode())
    plan = tmp_path / "plan.jsonl"
    run_plan(
        GcConfig(bucket=BUCKET, registry_tables=(TABLE,), prefixes=("models/",)),
        PlanOptions(out=plan, max_delete_fraction=1.0),
        world.clients(),
        datetime.now(timezone.utc),
    )
    return plan, ApplyOptions(audit_path=tmp_path / "audit.jsonl", max_delete_fraction=1.0, batch_size=2)


def run(world: World, plan: Path, options: ApplyOptions, hook=None, event: str | None = None):
    clients = world.clients()
    sent: list[list[str]] = []
    clients.s3.meta.events.register(
        "provide-client-params.s3.DeleteObjects",
        lambda params, **kw: sent.append([o["Key"] for o in params["Delete"]["Objects"]]),
    )
    if hook:
        clients.s3.meta.events.register(event, hook)
    prepared = prepare_apply(plan, GcConfig(), options, clients, datetime.now(timezone.utc))
    return execute_apply(prepared, clients, options, sleep=lambda s: None), sent


def audit_keys(options: ApplyOptions) -> list[str]:
    return [json.loads(line)["key"] for line in options.audit_path.read_text().splitlines()]


def crash_on_call(n: int):
    calls = {"n": 0}

    def hook(**kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise Crash()

    return hook


def test_crash_after_s3_deleted_a_batch_but_before_it_was_audited(world: World, tmp_path: Path) -> None:
    plan, options = setup(world, tmp_path)
    with pytest.raises(Crash):
        run(world, plan, options, crash_on_call(2), "after-call.s3.DeleteObjects")  # S3 has done batch 2
    assert audit_keys(options) == KEYS[:2]
    assert not set(KEYS[:4]) & world.listed_keys()
    result, sent = run(world, plan, options)
    assert result.recovered == KEYS[2:4] and result.resumed == 4  # 2 audited + 2 recovered, all skipped
    assert sent == [KEYS[4:6], KEYS[6:]]  # batches 1 and 2 are not sent again
    assert sorted(audit_keys(options)) == KEYS  # complete, no duplicates
    assert world.listed_keys() == {"models/keep/x"}


def test_crash_before_the_request_left(world: World, tmp_path: Path) -> None:
    plan, options = setup(world, tmp_path)
    with pytest.raises(Crash):
        run(world, plan, options, crash_on_call(2), "before-call.s3.DeleteObjects")
    assert set(KEYS[2:]) <= world.listed_keys()
    result, sent = run(world, plan, options)
    assert result.recovered == [] and result.resumed == 2
    assert sent == [KEYS[2:4], KEYS[4:6], KEYS[6:]]
    assert sorted(audit_keys(options)) == KEYS


def test_interrupt_between_batches(world: World, tmp_path: Path) -> None:
    plan, options = setup(world, tmp_path)
    clients = world.clients()
    prepared = prepare_apply(plan, GcConfig(), options, clients, datetime.now(timezone.utc))

    def stop(result):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        execute_apply(prepared, clients, options, on_batch=stop)
    result, sent = run(world, plan, options)
    assert result.resumed == 2 and sent == [KEYS[2:4], KEYS[4:6], KEYS[6:]]
    assert sorted(audit_keys(options)) == KEYS


def test_recovered_delete_markers_are_restorable(versioned_world: World, tmp_path: Path) -> None:
    world = versioned_world
    plan, options = setup(world, tmp_path)
    with pytest.raises(Crash):
        run(world, plan, options, crash_on_call(1), "after-call.s3.DeleteObjects")
    result, _ = run(world, plan, options)
    assert result.recovered == KEYS[:2]
    records = {
        json.loads(line)["key"]: json.loads(line) for line in options.audit_path.read_text().splitlines()
    }
    markers = {
        m["Key"]: m["VersionId"]
        for m in world.s3.list_object_versions(Bucket=BUCKET, Prefix="models/drop/")["DeleteMarkers"]
    }
    assert {k: r["delete_marker_version_id"] for k, r in records.items()} == markers
    assert records[KEYS[0]]["recovered"] is True and "recovered" not in records[KEYS[4]]


def test_a_finished_apply_run_again_sends_nothing(world: World, tmp_path: Path) -> None:
    plan, options = setup(world, tmp_path)
    run(world, plan, options)
    result, sent = run(world, plan, options)
    assert sent == [] and result.resumed == len(KEYS) and result.deleted == 0
    assert sorted(audit_keys(options)) == KEYS


@pytest.mark.parametrize("event", ["before-call.s3.DeleteObjects", "after-call.s3.DeleteObjects"])
def test_a_crash_with_batches_in_flight_resumes(world: World, tmp_path: Path, event: str) -> None:
    """--concurrency: when one batch dies the others in flight finish; a resume sends nothing S3 already
    deleted, and the audit log ends complete and without duplicates."""
    from dataclasses import replace

    plan, options = setup(world, tmp_path)
    options = replace(options, concurrency=3)
    with pytest.raises(Crash):
        run(world, plan, options, crash_on_call(2), event)
    gone = set(KEYS) - world.listed_keys()
    assert set(audit_keys(options)) <= gone
    result, sent = run(world, plan, options)
    assert not {key for batch in sent for key in batch} & gone
    assert sorted(audit_keys(options)) == KEYS
    assert world.listed_keys() == {"models/keep/x"}
    # every key is accounted for once: skipped as done (audited before, or recovered now), or deleted now
    assert result.resumed + result.deleted - len(result.recovered) == len(KEYS)


def test_batches_really_run_at_once(world: World, tmp_path: Path) -> None:
    import threading
    import time
    from dataclasses import replace

    plan, options = setup(world, tmp_path)
    options = replace(options, concurrency=3)
    lock = threading.Lock()
    state = {"now": 0, "most": 0}

    def enter(**_: object) -> None:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.2)

    def leave(**_: object) -> None:
        with lock:
            state["now"] -= 1

    clients = world.clients()
    clients.s3.meta.events.register("before-call.s3.DeleteObjects", enter)
    clients.s3.meta.events.register("after-call.s3.DeleteObjects", leave)
    prepared = prepare_apply(plan, GcConfig(), options, clients, datetime.now(timezone.utc))
    result = execute_apply(prepared, clients, options, sleep=lambda s: None)
    assert result.deleted == len(KEYS) and result.failed == []
    assert state["most"] >= 2
    assert sorted(audit_keys(options)) == KEYS
