"""Regression tests for the red-team review's fail-open paths (issue 15): each one made the GC delete an
object the registry still referenced. Every test plans and applies on the emulator, then looks at the
bucket: the referenced object must still be there."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from artifact_gc.cli import app
from artifact_gc.collect import control
from artifact_gc.collect.apply import ApplyOptions, execute_apply, prepare_apply
from artifact_gc.collect.planfile import header_digest
from artifact_gc.collect.planner import PlanOptions, raise_if_refused, run_plan
from artifact_gc.config import GcConfig
from artifact_gc.errors import SafetyError, UsageError

from conftest import BUCKET, TABLE, World

SCOPE = ("models/",)


def plan_and_apply(world: World, tmp_path: Path, config: GcConfig, **apply_options) -> dict:
    out = tmp_path / "plan.jsonl"
    result = run_plan(config, PlanOptions(out=out, max_delete_fraction=1.0), world.clients(), world.now)
    raise_if_refused(result)
    options = ApplyOptions(audit_path=tmp_path / "audit.jsonl", max_delete_fraction=1.0, **apply_options)
    prepared = prepare_apply(out, GcConfig(), options, world.clients(), datetime.now(timezone.utc))
    execute_apply(prepared, world.clients(), options, sleep=lambda s: None)
    return {"warnings": result.warnings, "header": result.header}


def table_config(**changes) -> GcConfig:
    return GcConfig(bucket=BUCKET, registry_tables=(TABLE,), prefixes=SCOPE, **changes)


# -------------------------------------------------------------------------------- 1. line manifests


def test_a_manifest_with_a_byte_order_mark_protects_its_first_line(world: World, tmp_path: Path) -> None:
    world.put("models/prod/v1/w.bin")
    world.put("models/old/w.bin")
    manifest = tmp_path / "keep.txt"
    manifest.write_bytes(b"\xef\xbb\xbf" + f"s3://{BUCKET}/models/prod/v1/\r\n".encode())
    plan_and_apply(world, tmp_path, GcConfig(bucket=BUCKET, manifests=(str(manifest),), prefixes=SCOPE))
    assert world.listed_keys() == {"models/prod/v1/w.bin"}


def test_a_utf16_manifest_from_powershell_is_read(world: World, tmp_path: Path) -> None:
    world.put("models/prod/v1/w.bin")
    world.put("models/old/w.bin")
    manifest = tmp_path / "keep.txt"
    manifest.write_bytes(f"s3://{BUCKET}/models/prod/v1/\r\n".encode("utf-16"))  # with its BOM
    plan_and_apply(world, tmp_path, GcConfig(bucket=BUCKET, manifests=(str(manifest),), prefixes=SCOPE))
    assert world.listed_keys() == {"models/prod/v1/w.bin"}


def test_an_inline_comment_protects_both_readings(world: World, tmp_path: Path) -> None:
    world.put("models/prod/v1/w.bin")
    world.put("models/odd #name/w.bin")
    world.put("models/old/w.bin")
    manifest = tmp_path / "keep.txt"
    manifest.write_text(
        f"s3://{BUCKET}/models/prod/v1/   # serving, do not delete\nmodels/odd #name/\n", encoding="utf-8"
    )
    plan_and_apply(world, tmp_path, GcConfig(bucket=BUCKET, manifests=(str(manifest),), prefixes=SCOPE))
    assert world.listed_keys() == {"models/prod/v1/w.bin", "models/odd #name/w.bin"}


# ------------------------------------------------------------------------- 2.-4. spellings of a key


@pytest.mark.parametrize(
    ("reference", "kept"),
    [
        (f"https://s3.us-east-1.amazonaws.com/{BUCKET}/models/staging/../prod/v1/", "models/prod/v1/w.bin"),
        (f"https://{BUCKET}.s3.us-east-1.amazonaws.com/models/./keep/", "models/keep/w.bin"),
        (f"s3a://{BUCKET}/models//prod/v1/", "models/prod/v1/w.bin"),
        (f"s3a://{BUCKET}/models/tmp/../prod/v2/", "models/prod/v2/w.bin"),
        (f"s3a://{BUCKET}/models/feat/part-*.parquet", "models/feat/part-0001.parquet"),
        (f"s3a://{BUCKET}/models/{{v1,v2}}/", "models/v2/w.bin"),
        ("models/cafe\u0301/", "models/caf\u00e9/w.bin"),  # NFD reference, NFC key
        ("models/caf\u00e9/", "models/cafe\u0301/w.bin"),  # NFC reference, NFD key
        (f"https://{BUCKET}.s3.amazonaws.com/models/my+model/", "models/my model/w.bin"),
        (f"s3://{BUCKET}/models/t.csv?s3_region=us-east-1", "models/t.csv"),
    ],
)
def test_every_reading_of_a_reference_is_kept(
    world: World, tmp_path: Path, reference: str, kept: str
) -> None:
    world.register(reference)
    world.put(kept)
    world.put("models/garbage/w.bin")
    plan_and_apply(world, tmp_path, table_config())
    assert kept in world.listed_keys()
    assert "models/garbage/w.bin" not in world.listed_keys() or "{" in reference  # a glob widens: we keep


def test_widened_globs_are_reported(world: World, tmp_path: Path) -> None:
    world.register(f"s3a://{BUCKET}/models/{{v1,v2}}/")
    world.put("models/v9/w.bin")
    report = plan_and_apply(world, tmp_path, table_config())
    assert any("1 references hold a glob" in w for w in report["warnings"])
    assert report["header"]["registry"]["glob_widened"] == 1
    assert world.listed_keys() == {"models/v9/w.bin"}  # everything under models/ is kept


@pytest.mark.parametrize("reference", ["runs:/abc123/model", "models:/fraud/3", "dbfs:/mnt/models/a"])
def test_an_mlflow_uri_refuses_the_run_naming_the_row(world: World, tmp_path: Path, reference: str) -> None:
    world.register("models/keep/")
    world.register(reference, model_id="fraud")
    world.put("models/old/w.bin")
    with pytest.raises(SafetyError, match=r"model_id=fraud.*" + reference.split(":")[0] + ":"):
        run_plan(table_config(), PlanOptions(out=tmp_path / "p.jsonl"), world.clients(), world.now)
    assert "models/old/w.bin" in world.listed_keys()


# --------------------------------------------------------------------------- 5.-6. the shrink history


def shrink_setup(world: World, tmp_path: Path) -> GcConfig:
    for i in range(11):
        world.register(f"models/m{i}/")
        world.put(f"models/m{i}/w.bin")
    config = table_config()
    plan_and_apply(world, tmp_path, config)  # records the baseline: 11 references
    for version in range(1, 10):  # the registry loses 9 of its 11 references
        world.ddb.delete_item(TableName=TABLE, Key={"model_id": {"S": "m"}, "version": {"N": str(version)}})
    return config


@pytest.mark.parametrize("damage", [b"not json", b"[]", b'{"runs": "x"}', b'{"runs": [{"references": -1}]}'])
def test_a_malformed_history_refuses_until_reset(world: World, tmp_path: Path, damage: bytes) -> None:
    config = shrink_setup(world, tmp_path)
    listed = world.s3.list_objects_v2(Bucket=BUCKET, Prefix=control.HISTORY_FOLDER)["Contents"]
    for entry in listed:
        world.s3.put_object(Bucket=BUCKET, Key=entry["Key"], Body=damage)
    with pytest.raises(SafetyError, match="reset-registry-history"):
        run_plan(config, PlanOptions(out=tmp_path / "p.jsonl"), world.clients(), world.now)
    # --accept-registry-shrink accepts a shrink, not a blind run
    with pytest.raises(SafetyError, match="cannot compare"):
        run_plan(
            config,
            PlanOptions(out=tmp_path / "p.jsonl", accept_registry_shrink=True),
            world.clients(),
            world.now,
        )
    assert len(world.listed_keys()) == 11
    result = CliRunner().invoke(app, ["reset-registry-history", "--bucket", BUCKET, "--yes"])
    assert result.exit_code == 0, result.output
    assert "Reset 2 registry-history objects" in result.output
    # after a deliberate reset there is no baseline: the run goes ahead
    run_plan(
        config, PlanOptions(out=tmp_path / "p.jsonl", max_delete_fraction=1.0), world.clients(), world.now
    )


def test_an_unreadable_legacy_history_refuses(world: World, tmp_path: Path) -> None:
    world.register("models/keep/")
    world.put("models/old/w.bin")
    world.s3.put_object(Bucket=BUCKET, Key=control.HISTORY_KEY, Body=b"\x00garbage")
    with pytest.raises(SafetyError, match=r"registry-history\.json is not JSON"):
        run_plan(table_config(), PlanOptions(out=tmp_path / "p.jsonl"), world.clients(), world.now)


def test_the_shrink_interlock_refuses_with_default_limits(world: World, tmp_path: Path) -> None:
    config = shrink_setup(world, tmp_path)
    with pytest.raises(SafetyError, match="2 references, 82% fewer than the 11"):
        run_plan(config, PlanOptions(out=tmp_path / "p.jsonl"), world.clients(), world.now)
    assert len(world.listed_keys()) == 11


def test_two_configurations_sharing_a_bucket_keep_separate_baselines(world: World, tmp_path: Path) -> None:
    other_table = "other-registry"
    from artifact_gc.local_stack import create_registry_table, register

    create_registry_table(world.ddb, other_table)
    for i in range(10):
        world.register(f"models/m{i}/")
        world.put(f"models/m{i}/w.bin")
        register(world.ddb, other_table, f"d{i}", 1, f"datasets/d{i}/", "active")
        world.put(f"datasets/d{i}/x.bin")
    models = table_config()
    datasets = GcConfig(bucket=BUCKET, registry_tables=(other_table,), prefixes=("datasets/",))
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
    plan_and_apply(world, tmp_path / "a", models)
    plan_and_apply(world, tmp_path / "b", datasets)
    # the datasets registry loses 8 of 10; the models configuration accepts a shrink of its own
    for i in range(8):
        world.ddb.delete_item(TableName=other_table, Key={"model_id": {"S": f"d{i}"}, "version": {"N": "1"}})
    for version in range(1, 4):
        world.ddb.delete_item(TableName=TABLE, Key={"model_id": {"S": "m"}, "version": {"N": str(version)}})
    out = tmp_path / "c" / "p.jsonl"
    run_plan(
        models,
        PlanOptions(out=out, accept_registry_shrink=True, max_delete_fraction=1.0),
        world.clients(),
        world.now,
    )
    options = ApplyOptions(
        audit_path=tmp_path / "c" / "a.jsonl", accept_registry_shrink=True, max_delete_fraction=1.0
    )
    prepared = prepare_apply(out, GcConfig(), options, world.clients(), datetime.now(timezone.utc))
    execute_apply(prepared, world.clients(), options, sleep=lambda s: None)
    # ...which does not disarm the datasets configuration's interlock
    with pytest.raises(SafetyError, match="fewer than the 10"):
        run_plan(datasets, PlanOptions(out=tmp_path / "d.jsonl"), world.clients(), world.now)


# ----------------------------------------------------------------------------------- 7. the apply window


def test_a_model_registered_during_the_confirmation_is_kept(world: World, tmp_path: Path) -> None:
    world.register("models/keep/")
    for name in ("a", "b"):
        world.put(f"models/{name}/w.bin")
    out = tmp_path / "plan.jsonl"
    raise_if_refused(
        run_plan(table_config(), PlanOptions(out=out, max_delete_fraction=1.0), world.clients(), world.now)
    )
    options = ApplyOptions(audit_path=tmp_path / "audit.jsonl", max_delete_fraction=1.0)
    prepared = prepare_apply(out, GcConfig(), options, world.clients(), datetime.now(timezone.utc))
    assert prepared.to_delete == 2
    world.register("models/a/")  # registered while the prompt waited
    result = execute_apply(prepared, world.clients(), options, sleep=lambda s: None)
    assert "models/a/w.bin" in world.listed_keys() and "models/b/w.bin" not in world.listed_keys()
    assert result.newly_protected == ["models/a/w.bin"]


@pytest.mark.parametrize(("refresh", "kept"), [(0.0, True), (3600.0, False)])
def test_the_registry_is_reread_between_batches(
    world: World, tmp_path: Path, refresh: float, kept: bool
) -> None:
    world.register("models/keep/")
    for name in ("a", "b", "c"):
        world.put(f"models/{name}/w.bin")
    out = tmp_path / "plan.jsonl"
    raise_if_refused(
        run_plan(table_config(), PlanOptions(out=out, max_delete_fraction=1.0), world.clients(), world.now)
    )
    options = ApplyOptions(
        audit_path=tmp_path / "audit.jsonl",
        max_delete_fraction=1.0,
        batch_size=1,
        registry_refresh_seconds=refresh,
    )
    prepared = prepare_apply(out, GcConfig(), options, world.clients(), datetime.now(timezone.utc))
    batches = []

    def register_after_the_first_batch() -> None:
        batches.append(1)
        if len(batches) == 2:
            world.register("models/c/")

    execute_apply(
        prepared, world.clients(), options, sleep=lambda s: None, before_batch=register_after_the_first_batch
    )
    assert ("models/c/w.bin" in world.listed_keys()) is kept
    assert "models/a/w.bin" not in world.listed_keys()


def test_the_cli_takes_registry_refresh(world: World, tmp_path: Path) -> None:
    world.register("models/keep/")
    world.put("models/a/w.bin")
    plan = world.cli_plan(tmp_path / "p.jsonl")
    result = CliRunner().invoke(
        app, ["apply", str(plan), "--yes", "--max-delete-fraction", "1", "--registry-refresh", "soon"]
    )
    assert result.exit_code == 2 and "--registry-refresh 'soon'" in result.output
    result = CliRunner().invoke(
        app, ["apply", str(plan), "--yes", "--max-delete-fraction", "1", "--registry-refresh", "0s"]
    )
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------------------- 8. smaller


def test_apply_refuses_a_region_other_than_the_plans(world: World, tmp_path: Path) -> None:
    world.register("models/keep/")
    world.put("models/a/w.bin")
    plan = world.cli_plan(tmp_path / "p.jsonl")
    result = CliRunner().invoke(
        app, ["apply", str(plan), "--yes", "--region", "eu-west-1", "--max-delete-fraction", "1"]
    )
    assert result.exit_code == 3 and "region 'eu-west-1' differs from the plan's 'us-east-1'" in " ".join(
        result.output.split()
    )
    assert "models/a/w.bin" in world.listed_keys()


def test_rows_without_a_path_attribute_are_counted_and_reported(world: World, tmp_path: Path) -> None:
    world.register("models/keep/")
    world.ddb.put_item(
        TableName=TABLE, Item={"model_id": {"S": "x"}, "version": {"N": "9"}, "uri": {"S": "models/a/"}}
    )
    world.put("models/a/w.bin")
    report = plan_and_apply(world, tmp_path, table_config())
    assert any("1 rows of dynamodb:" in w and "protect nothing" in w for w in report["warnings"])
    counts = report["header"]["registry"]["source_counts"][f"dynamodb:{TABLE}"]
    assert counts["rows_without_path"] == 1


def test_a_dotted_path_attribute_reads_the_nested_map(world: World, tmp_path: Path) -> None:
    world.ddb.put_item(
        TableName=TABLE,
        Item={
            "model_id": {"S": "n"},
            "version": {"N": "1"},
            "artifact": {"M": {"uri": {"S": "models/nested/"}}},
            "artifact.uri": {"S": "models/literal/"},
        },
    )
    for name in ("nested", "literal", "gone"):
        world.put(f"models/{name}/w.bin")
    plan_and_apply(world, tmp_path, table_config(path_attributes=("artifact.uri",)))
    assert world.listed_keys() == {"models/nested/w.bin", "models/literal/w.bin"}


def test_keep_globs_from_the_environment_may_hold_spaces(world: World, tmp_path: Path, monkeypatch) -> None:
    world.register("models/keep/")
    world.put("models/my model/w.bin")
    world.put("models/other/w.bin")
    monkeypatch.setenv("ARTIFACT_GC_KEEP", "models/my model/*\nmodels/none/*")
    plan = world.cli_plan(tmp_path / "p.jsonl")
    keys = [json.loads(line)["key"] for line in plan.read_text().splitlines()[1:]]
    assert keys == ["models/other/w.bin"]


def test_a_scope_prefix_without_a_slash_names_its_siblings(world: World, tmp_path: Path) -> None:
    world.register("models/keep/")
    for key in ("models/a/w.bin", "models-prod/b/w.bin", "modelsX.bin"):
        world.put(key)
    out = tmp_path / "p.jsonl"
    result = run_plan(
        GcConfig(bucket=BUCKET, registry_tables=(TABLE,), prefixes=("models",)),
        PlanOptions(out=out, max_delete_fraction=1.0),
        world.clients(),
        world.now,
    )
    (warning,) = [w for w in result.warnings if "no trailing slash" in w]
    assert "'models-prod/'" in warning and "'modelsX.bin'" in warning and "'models/'" in warning


def test_suspended_versioning_says_null_versions_are_deleted_for_good(world: World, tmp_path: Path) -> None:
    world.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    world.register("models/keep/")
    world.put("models/a/w.bin")
    plan = world.cli_plan(tmp_path / "p.jsonl")
    result = CliRunner().invoke(app, ["apply", str(plan), "--yes", "--max-delete-fraction", "1"])
    assert result.exit_code == 0, result.output
    assert "Versioning is suspended: for 1 of them" in " ".join(result.output.split())
    (record,) = [json.loads(line) for line in (tmp_path / "p.jsonl.audit.jsonl").read_text().splitlines()]
    assert record["permanent"] is True
    restore = CliRunner().invoke(app, ["restore", str(tmp_path / "p.jsonl.audit.jsonl"), "--yes"])
    assert restore.exit_code == 2 and "permanent" in restore.output


def test_a_plan_with_a_duplicated_candidate_is_refused(versioned_world: World, tmp_path: Path) -> None:
    world = versioned_world
    world.register("models/keep/")
    world.put("models/a/w.bin")
    world.put("models/b/w.bin")
    out = tmp_path / "plan.jsonl"
    raise_if_refused(
        run_plan(table_config(), PlanOptions(out=out, max_delete_fraction=1.0), world.clients(), world.now)
    )
    lines = out.read_text().splitlines()
    header = json.loads(lines[0])
    header["totals"]["candidates"] += 1  # the header agrees: only the duplicate gives it away
    header["header_digest"] = header_digest(header)
    out.write_text("\n".join([json.dumps(header), lines[1], lines[1], *lines[2:]]) + "\n")
    options = ApplyOptions(audit_path=tmp_path / "audit.jsonl", max_delete_fraction=1.0)
    with pytest.raises(UsageError, match="listed twice"):
        prepare_apply(out, GcConfig(), options, world.clients(), datetime.now(timezone.utc))
    assert world.listed_keys() == {"models/a/w.bin", "models/b/w.bin"}
