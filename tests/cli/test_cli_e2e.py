"""End to end: the artifact-gc CLI against moto's ThreadedMotoServer, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from artifact_gc.cli.app import app
from artifact_gc.collect.planfile import iter_candidates
from artifact_gc.local_stack import LocalStack, gc_config_outputs, local_stack, register, seed_demo

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with local_stack() as running:
        yield running


class Scenario:
    """One freshly seeded bucket + registry on the shared server, and a way to run the CLI on it."""

    def __init__(self, stack: LocalStack, tmp_path: Path, versioned: bool = True) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.stack = stack
        self.layout = seed_demo(
            stack, bucket=f"ml-artifacts-{suffix}", table=f"registry-{suffix}", versioned=versioned
        )
        self.bucket, self.table = self.layout.bucket, self.layout.table
        self.tmp = tmp_path
        self.outputs = tmp_path / "tf-outputs.json"
        self.outputs.write_text(json.dumps(gc_config_outputs(self.bucket, self.table)))
        self.plan = tmp_path / "plan.jsonl"
        self.audit = tmp_path / "audit.jsonl"
        self.s3 = stack.client("s3")
        self.ddb = stack.client("dynamodb")

    def cli(self, *args: str, env: dict[str, str] | None = None):
        """Run in-process (fast); the server is real, only the process is shared."""
        result = CliRunner().invoke(
            app, list(args), env={**self.stack.env, **(env or {})}, catch_exceptions=False
        )
        assert "Traceback" not in result.output
        return result

    def keys(self) -> set[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return {  # artifacts only: the GC's own state under .artifact-gc/ is not what these tests watch
            o["Key"]
            for page in pages
            for o in page.get("Contents", ())
            if not o["Key"].startswith(".artifact-gc/")
        }

    def do_plan(self, *extra: str):
        return self.cli(
            "plan",
            "--tf-outputs",
            str(self.outputs),
            "--out",
            str(self.plan),
            "--max-delete-fraction",
            "0.9",
            *extra,
        )

    def do_apply(self, *extra: str):
        return self.cli(
            "apply",
            str(self.plan),
            "--yes",
            "--audit",
            str(self.audit),
            "--max-delete-fraction",
            "0.9",
            *extra,
        )


@pytest.fixture
def scenario(stack: LocalStack, tmp_path: Path) -> Scenario:
    return Scenario(stack, tmp_path)


def test_plan_register_apply_as_separate_processes(scenario: Scenario) -> None:
    """The headline flow: plan, then a model is registered, then apply: it survives, the garbage goes."""
    env = {**os.environ, **scenario.stack.env}
    planned = subprocess.run(
        [
            sys.executable,
            "-m",
            "artifact_gc",
            "plan",
            "--tf-outputs",
            str(scenario.outputs),
            "--out",
            str(scenario.plan),
            "--max-delete-fraction",
            "0.9",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert planned.returncode == 0, planned.stderr
    summary = json.loads(planned.stdout)
    candidates = {c.obj.key for c in iter_candidates(scenario.plan)}
    assert summary["totals"]["candidates"] == len(candidates) > 0
    assert not candidates & scenario.layout.referenced_keys
    assert summary["registry"]["other_buckets"] == {"another-teams-bucket": 1}
    assert summary["totals"]["protected_non_folder"] >= 1  # v1 keeps v10

    # "v1/" protects v1 and, by the keep-when-ambiguous rule, v10 too
    rescued = {k for k in candidates if k.startswith("models/nlp-bert/v1")}
    assert {"models/nlp-bert/v1/model.safetensors", "models/nlp-bert/v10/model.safetensors"} <= rescued
    register(scenario.ddb, scenario.table, "nlp-bert", 1, f"s3://{scenario.bucket}/models/nlp-bert/v1/")

    applied = subprocess.run(
        [
            sys.executable,
            "-m",
            "artifact_gc",
            "apply",
            str(scenario.plan),
            "--yes",
            "--audit",
            str(scenario.audit),
            "--max-delete-fraction",
            "0.9",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert applied.returncode == 0, applied.stderr
    remaining = scenario.keys()
    assert rescued <= remaining
    assert not (candidates - rescued) & remaining
    assert scenario.layout.referenced_keys <= remaining
    audited = [json.loads(line)["key"] for line in scenario.audit.read_text().splitlines()]
    assert sorted(audited) == sorted(candidates - rescued)
    result = json.loads(applied.stdout)
    assert sorted(result["newly_protected"]) == sorted(rescued)
    assert result["deleted"] == len(candidates - rescued) == result["delete_markers"]


def test_plan_prints_a_human_summary(scenario: Scenario) -> None:
    result = scenario.do_plan()
    assert result.exit_code == 0, result.output
    for text in (
        "Scanned",
        "References",
        "candidates",
        "STANDARD_IA",
        "GLACIER_IR",
        "Largest candidates",
        "other buckets",
        "mid-name",
        "nothing was modified",
    ):
        assert text in result.output


def test_apply_reads_everything_from_the_plan(scenario: Scenario) -> None:
    assert scenario.do_plan().exit_code == 0
    before = scenario.keys()
    candidates = {c.obj.key for c in iter_candidates(scenario.plan)}
    result = scenario.cli("apply", str(scenario.plan), "--yes", "--max-delete-fraction", "0.9")
    assert result.exit_code == 0, result.output
    assert scenario.keys() == before - candidates and candidates  # exactly the candidates went
    assert scenario.layout.referenced_keys <= scenario.keys()
    assert (scenario.tmp / "plan.jsonl.audit.jsonl").exists()  # default audit log beside the plan
    assert "delete markers added" in result.output and "NoncurrentVersionExpiration" in result.output


def test_flags_and_environment_override_terraform(scenario: Scenario) -> None:
    result = scenario.cli(
        "plan",
        "--tf-outputs",
        str(scenario.outputs),
        "--out",
        str(scenario.plan),
        "--json",
        "--prefix",
        "experiments/",
        env={"ARTIFACT_GC_MIN_AGE_DAYS": "100000"},
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["scope"]["prefixes"] == ["experiments/"] and summary["scope"]["min_age_days"] == 100000
    assert summary["totals"]["candidates"] == 0


def test_lifecycle_rule_tells_when_space_is_freed(scenario: Scenario) -> None:
    scenario.s3.put_bucket_lifecycle_configuration(
        Bucket=scenario.bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "noncurrent",
                    "Status": "Enabled",
                    "Filter": {},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                }
            ]
        },
    )
    assert scenario.do_plan().exit_code == 0
    result = scenario.do_apply()
    assert result.exit_code == 0 and "about 30 days" in result.output


# ------------------------------------------------------------------------------------ exit 3: interlocks


def _empty_registry(s: Scenario) -> None:
    for item in s.ddb.scan(TableName=s.table)["Items"]:
        s.ddb.delete_item(TableName=s.table, Key={"model_id": item["model_id"], "version": item["version"]})


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (_empty_registry, "no references"),
        (
            lambda s: register(s.ddb, s.table, "typo", 1, f"s3:/{s.bucket}/models/nlp-bert/v1"),
            "malformed URI",
        ),
        (lambda s: s.ddb.delete_table(TableName=s.table), "cannot be read"),
    ],
)
def test_plan_refuses_on_a_doubtful_registry(scenario: Scenario, setup, message: str) -> None:
    setup(scenario)
    before = scenario.keys()
    result = scenario.do_plan()
    assert result.exit_code == 3
    assert message in result.output and "refused" in result.output
    assert not scenario.plan.exists()
    assert scenario.keys() == before


def test_plan_refuses_too_large_a_share_but_writes_it_for_review(scenario: Scenario) -> None:
    result = scenario.cli("plan", "--tf-outputs", str(scenario.outputs), "--out", str(scenario.plan))
    assert result.exit_code == 3 and "--max-delete-fraction 0.5" in result.output
    assert scenario.plan.exists()


@pytest.mark.parametrize(
    ("setup", "extra", "message"),
    [
        (_empty_registry, (), "no references"),
        (lambda s: s.ddb.delete_table(TableName=s.table), (), "cannot be read"),
        (lambda s: register(s.ddb, s.table, "typo", 1, "gs://elsewhere/x"), (), "scheme"),
        (None, ("--bucket", "some-other-bucket"), "from the plan's"),
        (None, ("--prefix", "models/"), "from the plan's"),
        (None, ("--registry-table", "other-table"), "from the plan's"),
        (None, ("--max-plan-age", "0s"), "older than --max-plan-age"),
        (None, ("--max-delete-fraction", "0.1"), "--max-delete-fraction"),
        (None, ("--max-delete-bytes", "10"), "--max-delete-bytes"),
    ],
)
def test_apply_refuses_and_deletes_nothing(
    scenario: Scenario, setup, extra: tuple[str, ...], message: str
) -> None:
    assert scenario.do_plan().exit_code == 0
    if setup:
        setup(scenario)
    before = scenario.keys()
    result = scenario.do_apply(*extra)
    assert result.exit_code == 3, result.output
    assert message in result.output
    assert scenario.keys() == before
    assert not scenario.audit.exists() or not scenario.audit.read_text()


def test_apply_refuses_a_tf_config_that_disagrees(scenario: Scenario) -> None:
    assert scenario.do_plan().exit_code == 0
    other = scenario.tmp / "other-outputs.json"
    other.write_text(json.dumps(gc_config_outputs(scenario.bucket, scenario.table, prefixes=("models/",))))
    before = scenario.keys()
    result = scenario.do_apply("--tf-outputs", str(other))
    assert result.exit_code == 3 and "scope prefixes" in result.output
    assert scenario.keys() == before
    assert scenario.do_apply("--tf-outputs", str(scenario.outputs)).exit_code == 0
    assert scenario.keys() == before - {c.obj.key for c in iter_candidates(scenario.plan)}


# ------------------------------------------------------------------------------------ exit 2: bad input


def test_apply_without_yes_off_a_terminal(scenario: Scenario) -> None:
    assert scenario.do_plan().exit_code == 0
    before = scenario.keys()
    result = scenario.cli("apply", str(scenario.plan), "--max-delete-fraction", "0.9")
    assert result.exit_code == 2 and "--yes" in result.output
    assert scenario.keys() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("plan", "--out", "{tmp}/p.jsonl", "--prefix", "models/", "--registry-table", "t"), "no bucket"),
        (("plan", "--out", "{tmp}/p.jsonl", "--bucket", "b", "--registry-table", "t"), "no scope"),
        (("plan", "--out", "{tmp}/p.jsonl", "--tf-outputs", "{tmp}/missing.json"), "--tf-outputs"),
        (
            ("plan", "--out", "{tmp}/p.jsonl", "--tf-outputs", "{outputs}", "--skip-where", "status"),
            "ATTRIBUTE=VALUE",
        ),
        (("plan", "--out", "{tmp}/p.jsonl", "--tf-outputs", "{outputs}", "--tf-dir", "{tmp}"), "choose one"),
        (
            (
                "plan",
                "--out",
                "{tmp}/p.jsonl",
                "--bucket",
                "no-such-bucket-here",
                "--prefix",
                "x/",
                "--manifest",
                "{tmp}/m.txt",
            ),
            "does not exist",
        ),
        (("apply", "{tmp}/missing-plan.jsonl", "--yes"), "cannot read"),
        (("apply", "{outputs}", "--yes"), "not an artifact-gc plan"),
        (("apply", "{outputs}", "--yes", "--max-plan-age", "soon"), "--max-plan-age"),
        (
            ("plan", "--out", "{tmp}/p.jsonl", "--tf-outputs", "{outputs}", "--min-age-days", "-3"),
            "--min-age-days",
        ),
    ],
)
def test_bad_input_is_exit_2_with_one_clear_line(
    scenario: Scenario, args: tuple[str, ...], message: str
) -> None:
    (scenario.tmp / "m.txt").write_text("models/x/\n")
    argv = [a.format(tmp=scenario.tmp, outputs=scenario.outputs) for a in args]
    result = scenario.cli(*argv)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_help_documents_exit_codes() -> None:
    for command in (
        [],
        ["plan"],
        ["apply"],
        ["restore"],
        ["rescue"],
        ["report"],
        ["lint-policy"],
        ["tf-gate"],
    ):
        result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0
        assert "3 a safety interlock refused" in " ".join(result.output.split())


def test_plan_help_names_the_extras_to_install() -> None:
    """Rich markup reads "[spark]" as a tag and drops it: the help must still say what to pip install."""
    result = CliRunner().invoke(app, ["plan", "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    assert "artifact-gc[inventory]" in result.output and "artifact-gc[spark]" in result.output


# --------------------------------------------------------------------------------- exit 1: per-key failures


def test_objects_that_cannot_be_deleted_are_listed_and_exit_1(stack: LocalStack, tmp_path: Path) -> None:
    """Object Lock (governance mode) makes S3 itself refuse to delete one version: a real per-key error."""
    from datetime import datetime, timedelta, timezone

    from artifact_gc.local_stack import backdate, create_registry_table

    suffix = uuid.uuid4().hex[:8]
    bucket, table = f"locked-{suffix}", f"registry-{suffix}"
    s3, ddb = stack.client("s3"), stack.client("dynamodb")
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    create_registry_table(ddb, table)
    register(ddb, table, "keep", 1, f"s3://{bucket}/models/keep/")
    old = datetime.now(timezone.utc) - timedelta(days=30)
    for key in ("models/keep/m.bin", "models/drop/free.bin"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
        backdate(bucket, key, old)
    s3.put_object(
        Bucket=bucket,
        Key="models/drop/locked.bin",
        Body=b"y",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=datetime.now(timezone.utc) + timedelta(days=365),
    )
    backdate(bucket, "models/drop/locked.bin", old)
    plan_path = tmp_path / "plan.jsonl"
    runner = CliRunner()
    env = stack.env
    planned = runner.invoke(
        app,
        [
            "plan",
            "--bucket",
            bucket,
            "--registry-table",
            table,
            "--prefix",
            "models/",
            "--out",
            str(plan_path),
            "--max-delete-fraction",
            "1",
        ],
        env=env,
    )
    assert planned.exit_code == 0, planned.output
    applied = runner.invoke(
        app,
        [
            "apply",
            str(plan_path),
            "--yes",
            "--purge-versions",
            "--max-delete-fraction",
            "1",
            "--audit",
            str(tmp_path / "audit.jsonl"),
        ],
        env=env,
    )
    assert applied.exit_code == 1, applied.output
    assert "failed models/drop/locked.bin" in " ".join(applied.output.split())
    assert "Traceback" not in applied.output
    left = {v["Key"] for v in s3.list_object_versions(Bucket=bucket, Prefix="models/").get("Versions", [])}
    assert left == {"models/keep/m.bin", "models/drop/locked.bin"}
    audited = [json.loads(line)["key"] for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert audited == ["models/drop/free.bin"]
