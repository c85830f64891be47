"""Undo: restore removes exactly the delete markers an apply created, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from artifact_gc.cli.app import app

from conftest import BUCKET, World


def apply_plan(world: World, tmp_path: Path, *extra: str) -> Path:
    world.register("models/keep/")
    for key in ("models/keep/a", "models/drop/b", "models/drop/c"):
        world.put(key, age_days=30, body=key.encode())
    runner = CliRunner()
    plan = tmp_path / "plan.jsonl"
    world.cli_plan(plan)
    audit = tmp_path / "audit.jsonl"
    result = runner.invoke(
        app, ["apply", str(plan), "--yes", "--max-delete-fraction", "1", "--audit", str(audit), *extra]
    )
    assert result.exit_code == 0, result.output
    return audit


def test_restore_brings_back_exactly_what_apply_deleted(versioned_world: World, tmp_path: Path) -> None:
    world = versioned_world
    audit = apply_plan(world, tmp_path)
    assert world.listed_keys() == {"models/keep/a"}
    result = CliRunner().invoke(app, ["restore", str(audit), "--yes"])
    assert result.exit_code == 0, result.output
    assert "Restored 2 objects" in result.output
    assert world.listed_keys() == {"models/keep/a", "models/drop/b", "models/drop/c"}
    body = world.s3.get_object(Bucket=BUCKET, Key="models/drop/b")["Body"].read()
    assert body == b"models/drop/b"
    assert "DeleteMarkers" not in world.s3.list_object_versions(Bucket=BUCKET, Prefix="models/")
    again = CliRunner().invoke(app, ["restore", str(audit), "--yes"])
    assert again.exit_code == 0 and "2 were already back" in again.output


def test_restore_never_deletes_a_data_version(versioned_world: World, tmp_path: Path) -> None:
    world = versioned_world
    audit = apply_plan(world, tmp_path)
    data_version = next(
        v["VersionId"]
        for v in world.s3.list_object_versions(Bucket=BUCKET, Prefix="models/keep/a")["Versions"]
    )
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    lines[0] |= {
        "key": "models/keep/a",
        "delete_marker_version_id": data_version,
    }  # a tampered or mistaken line
    audit.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = CliRunner().invoke(app, ["restore", str(audit), "--yes"])
    assert result.exit_code == 0, result.output
    assert "models/keep/a" in world.listed_keys()  # its only data version is untouched


def test_unversioned_deletions_cannot_be_restored_and_restore_says_so(world: World, tmp_path: Path) -> None:
    audit = apply_plan(world, tmp_path)
    result = CliRunner().invoke(app, ["restore", str(audit), "--yes"])
    assert result.exit_code == 2
    assert "nothing can be restored" in result.output and "not versioned" in result.output


def test_purged_versions_cannot_be_restored(versioned_world: World, tmp_path: Path) -> None:
    audit = apply_plan(versioned_world, tmp_path, "--purge-versions")
    result = CliRunner().invoke(app, ["restore", str(audit), "--yes"])
    assert result.exit_code == 2 and "--purge-versions" in result.output


def test_a_partly_permanent_log_restores_what_it_can_and_exits_1(
    versioned_world: World, tmp_path: Path
) -> None:
    world = versioned_world
    audit = apply_plan(world, tmp_path)
    with audit.open("a") as handle:
        handle.write(
            json.dumps(
                {
                    "bucket": BUCKET,
                    "key": "models/old/purged",
                    "version_id": "v1",
                    "delete_marker_version_id": None,
                }
            )
            + "\n"
        )
    result = CliRunner().invoke(app, ["restore", str(audit), "--yes"])
    assert result.exit_code == 1
    assert "Restored 2 objects" in result.output and "1 deletions were permanent" in result.output


def test_bad_audit_logs_and_missing_yes(versioned_world: World, tmp_path: Path) -> None:
    audit = apply_plan(versioned_world, tmp_path)
    assert CliRunner().invoke(app, ["restore", str(audit)]).exit_code == 2  # not on a terminal, no --yes
    bad = tmp_path / "bad.jsonl"
    for content, message in [
        ("", "empty"),
        ("{not json\n", "not an artifact-gc audit record"),
        ('{"bucket": "a", "key": "k"}\n{"bucket": "b", "key": "k"}\n', "mixes buckets"),
    ]:
        bad.write_text(content)
        result = CliRunner().invoke(app, ["restore", str(bad), "--yes"])
        assert result.exit_code == 2 and message in result.output


def test_restore_says_restored_only_of_objects_that_are_back(versioned_world: World, tmp_path: Path) -> None:
    """Two delete markers on one key (a plan applied with a duplicated line, or a second delete): removing
    the one the audit log names leaves the object deleted, and restore must say so and exit 1."""
    world = versioned_world
    audit = apply_plan(world, tmp_path)
    world.s3.delete_object(Bucket=BUCKET, Key="models/drop/b")  # a second marker, not in the audit log
    result = CliRunner().invoke(app, ["restore", str(audit), "--yes"])
    assert result.exit_code == 1, result.output
    output = " ".join(result.output.split())
    assert "Restored 1 objects" in output
    assert "not restored models/drop/b: still deleted" in output
    assert world.listed_keys() == {"models/keep/a", "models/drop/c"}


def test_restore_given_a_plan_says_it_is_a_plan(versioned_world: World, tmp_path: Path) -> None:
    world = versioned_world
    apply_plan(world, tmp_path)
    result = CliRunner().invoke(app, ["restore", str(tmp_path / "plan.jsonl"), "--yes"])
    assert result.exit_code == 2 and "is a plan, not an audit log" in " ".join(result.output.split())


def test_restore_refuses_a_binary_audit_log(tmp_path: Path) -> None:
    (tmp_path / "audit.jsonl").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    result = CliRunner().invoke(app, ["restore", str(tmp_path / "audit.jsonl"), "--yes"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "give a text file" in " ".join(result.output.split())


def test_a_long_restore_renews_its_lease_and_stops_when_it_is_taken(
    versioned_world: World, tmp_path: Path, monkeypatch
) -> None:
    """A restore of millions of markers outlives its lease: it renews between rounds of requests, and
    when another run took the lease over meanwhile it stops there (exit 3), before removing a marker."""
    from datetime import timedelta

    from artifact_gc.collect import control

    world = versioned_world
    audit = apply_plan(world, tmp_path)
    renewals: list[int] = []
    original = control.renew

    def counting_renew(*args, **kwargs):
        renewals.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(control, "renew", counting_renew)
    # a 10 ms lease: every round of requests starts with less than half of it left
    args = ["restore", str(audit), "--yes", "--lock-ttl", "0.01s", "--concurrency", "2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    # three rounds (checking the markers, removing them, checking the keys are back): the first may
    # start within 5 ms of taking the lease, each later one finds less than half of it left
    assert len(renewals) >= 2
    assert world.listed_keys() == {"models/keep/a", "models/drop/b", "models/drop/c"}

    audit = apply_plan(world, tmp_path)  # deleted again: a second restore, whose lease is taken over
    later = world.now + timedelta(days=1)

    def taken_over(s3, lease, ttl, when):
        control.acquire(s3, lease.bucket, ttl, later, "apply elsewhere", holder="other:1")
        return original(s3, lease, ttl, when)

    monkeypatch.setattr(control, "renew", taken_over)
    stopped = CliRunner().invoke(app, args)
    assert stopped.exit_code == 3, stopped.output
    assert "taken over" in " ".join(stopped.output.split())
    assert world.listed_keys() == {"models/keep/a"}  # no marker was removed
