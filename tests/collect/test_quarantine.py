"""Two-phase delete: quarantine tags instead of deleting, rescue removes them, a later run rescues what
the registry references again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from artifact_gc.cli.app import app
from artifact_gc.collect.quarantine import DEFAULT_TAG

from conftest import BUCKET, World


def tags(world: World, key: str, version: str | None = None) -> dict[str, str]:
    extra = {"VersionId": version} if version else {}
    return {
        t["Key"]: t["Value"] for t in world.s3.get_object_tagging(Bucket=BUCKET, Key=key, **extra)["TagSet"]
    }


def plan(world: World, tmp_path: Path, name: str = "plan.jsonl") -> Path:
    return world.cli_plan(tmp_path / name)


def seed(world: World) -> None:
    world.register("models/keep/")
    world.put("models/keep/a", age_days=30)
    world.put("models/old/b", age_days=30)
    world.put("models/old/c", age_days=30)
    world.s3.put_object_tagging(
        Bucket=BUCKET, Key="models/old/b", Tagging={"TagSet": [{"Key": "team", "Value": "nlp"}]}
    )
    world.s3.put_bucket_lifecycle_configuration(
        Bucket=BUCKET,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "quarantine",
                    "Status": "Enabled",
                    "Filter": {"Tag": {"Key": "artifact-gc", "Value": "condemned"}},
                    "Expiration": {"Days": 7},
                }
            ]
        },
    )


def quarantine(world: World, plan_path: Path, tmp_path: Path, *extra: str):
    return CliRunner().invoke(
        app,
        [
            "apply",
            str(plan_path),
            "--yes",
            "--mode",
            "quarantine",
            "--max-delete-fraction",
            "1",
            "--audit",
            str(tmp_path / "audit.jsonl"),
            *extra,
        ],
    )


def test_quarantine_tags_instead_of_deleting_and_keeps_other_tags(world: World, tmp_path: Path) -> None:
    seed(world)
    result = quarantine(world, plan(world, tmp_path), tmp_path)
    assert result.exit_code == 0, result.output
    assert world.listed_keys() == {"models/keep/a", "models/old/b", "models/old/c"}  # nothing deleted
    b = tags(world, "models/old/b")
    assert b["artifact-gc"] == "condemned" and b["team"] == "nlp" and len(b["artifact-gc-date"]) == 10
    assert tags(world, "models/old/c")["artifact-gc"] == "condemned"
    assert tags(world, "models/keep/a") == {}
    text = " ".join(result.output.split())
    assert "Quarantined 2 objects" in text and "expires them 7 days after creation" in text
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert {(r["action"], r["key"]) for r in audit} == {
        ("quarantine", "models/old/b"),
        ("quarantine", "models/old/c"),
    }
    restore = CliRunner().invoke(app, ["restore", str(tmp_path / "audit.jsonl"), "--yes"])
    assert restore.exit_code == 2 and "artifact-gc rescue" in restore.output


def test_a_later_run_rescues_what_became_referenced(world: World, tmp_path: Path) -> None:
    seed(world)
    assert quarantine(world, plan(world, tmp_path), tmp_path).exit_code == 0
    world.register("models/old/b")  # someone registers it during the quarantine
    world.put("models/other/z", age_days=30)
    result = CliRunner().invoke(
        app,
        [
            "apply",
            str(plan(world, tmp_path, "plan2.jsonl")),
            "--yes",
            "--max-delete-fraction",
            "1",
            "--audit",
            str(tmp_path / "audit2.jsonl"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Rescued 1 quarantined objects" in " ".join(result.output.split())
    assert tags(world, "models/old/b") == {"team": "nlp"}
    assert "models/old/b" in world.listed_keys()


def test_rescue_by_key_prefix_and_plan(world: World, tmp_path: Path) -> None:
    seed(world)
    plan_path = plan(world, tmp_path)
    assert quarantine(world, plan_path, tmp_path).exit_code == 0
    runner = CliRunner()
    result = runner.invoke(app, ["rescue", "--bucket", BUCKET, "--key", "models/old/b"])
    assert result.exit_code == 0 and "Rescued 1 objects" in result.output
    assert tags(world, "models/old/b") == {"team": "nlp"} and "artifact-gc" in tags(world, "models/old/c")
    result = runner.invoke(app, ["rescue", "--bucket", BUCKET, "--prefix", "models/"])
    assert (
        result.exit_code == 0 and "Rescued 1 objects" in result.output and tags(world, "models/old/c") == {}
    )
    (tmp_path / "again").mkdir()
    assert quarantine(world, plan_path, tmp_path / "again").exit_code == 0  # quarantine both again
    result = runner.invoke(app, ["rescue", "--plan", str(plan_path)])
    assert result.exit_code == 0 and "Rescued 2 objects" in result.output
    assert runner.invoke(app, ["rescue", "--bucket", BUCKET]).exit_code == 2


def test_quarantine_tags_the_planned_version(versioned_world: World, tmp_path: Path) -> None:
    world = versioned_world
    seed(world)
    plan_path = plan(world, tmp_path)
    planned = {
        json.loads(line)["key"]: json.loads(line)["current_version_id"]
        for line in plan_path.read_text().splitlines()[1:]
    }
    assert quarantine(world, plan_path, tmp_path).exit_code == 0
    assert tags(world, "models/old/c", planned["models/old/c"])["artifact-gc"] == "condemned"


def test_quarantine_respects_the_ten_tag_limit_and_bad_options(world: World, tmp_path: Path) -> None:
    seed(world)
    world.s3.put_object_tagging(
        Bucket=BUCKET,
        Key="models/old/c",
        Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(9)]},
    )
    plan_path = plan(world, tmp_path)
    result = quarantine(world, plan_path, tmp_path)
    assert result.exit_code == 1 and "S3 allows 10" in " ".join(result.output.split())
    assert "artifact-gc" not in tags(world, "models/old/c")
    assert quarantine(world, plan_path, tmp_path, "--purge-versions").exit_code == 2
    result = CliRunner().invoke(
        app, ["apply", str(plan_path), "--yes", "--mode", "shred", "--max-delete-fraction", "1"]
    )
    assert result.exit_code == 2 and "--mode" in result.output
    custom = quarantine(world, plan(world, tmp_path, "p3.jsonl"), tmp_path, "--quarantine-tag", "gc=doomed")
    assert custom.exit_code == 1  # c still has too many tags; b gets the custom tag
    assert tags(world, "models/old/b")["gc"] == "doomed"
    assert "no lifecycle rule expires objects with this tag" in " ".join(custom.output.split())


def test_a_quarantined_plan_can_then_be_applied_for_real_with_the_same_audit_log(
    world: World, tmp_path: Path
) -> None:
    seed(world)
    plan_path = plan(world, tmp_path)
    assert quarantine(world, plan_path, tmp_path).exit_code == 0
    result = CliRunner().invoke(
        app,
        [
            "apply",
            str(plan_path),
            "--yes",
            "--max-delete-fraction",
            "1",
            "--audit",
            str(tmp_path / "audit.jsonl"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert world.listed_keys() == {"models/keep/a"}  # not skipped as "already done"
    actions = [json.loads(line)["action"] for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert sorted(actions) == ["delete", "delete", "quarantine", "quarantine"]


def test_rescue_of_a_missing_key_says_it_is_missing(world: World) -> None:
    result = CliRunner().invoke(app, ["rescue", "--bucket", BUCKET, "--key", "models/never-there.bin"])
    assert result.exit_code == 2, result.output
    assert "1 keys are not in s3://" in " ".join(result.output.split())


def test_lint_policy_on_a_missing_bucket_says_so(world: World) -> None:
    result = CliRunner().invoke(app, ["lint-policy", "--bucket", "no-such-bucket-here"])
    assert result.exit_code == 2 and "does not exist" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("workers", [1, 3])
def test_rescue_of_many_keys_at_once_answers_in_their_order(world: World, workers: int) -> None:
    """rescue_keys with several keys at once: each list in the order of the keys given (duplicates
    once), and a failure other than "not there" stops the rescue with the first such failure in order."""
    from artifact_gc.collect.quarantine import add_tags, rescue_keys

    keys = [f"models/k{i:02d}" for i in range(40)]
    for number, key in enumerate(keys):
        world.put(key)
        if number % 3:
            add_tags(world.s3, BUCKET, [(key, None)], DEFAULT_TAG, world.now)
    asked = [*keys[:10], "models/gone-1", *keys[10:], keys[0], "models/gone-0"]
    rescued, untagged, missing = rescue_keys(world.s3, BUCKET, asked, DEFAULT_TAG, workers)
    assert rescued == [k for n, k in enumerate(keys) if n % 3]
    assert untagged == [k for n, k in enumerate(keys) if not n % 3]
    assert missing == ["models/gone-1", "models/gone-0"]
    assert all("artifact-gc" not in tags(world, k) for k in keys)

    def deny(params: dict, **_: object) -> None:
        if params.get("Key") in ("models/k07", "models/k30"):
            message = f"no access to {params['Key']}"
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": message}}, "HeadObject")

    world.s3.meta.events.register("before-parameter-build.s3.HeadObject", deny)
    with pytest.raises(ClientError) as raised:
        rescue_keys(world.s3, BUCKET, keys, DEFAULT_TAG, workers)
    assert "no access to models/k07" in str(raised.value)
