"""Users install the wheel, not this checkout: build it, install it into a fresh virtual environment, and run
every subcommand from a folder outside the repository against the emulator (issue 13)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from artifact_gc.local_stack import LocalStack, gc_config_outputs, local_stack, seed_demo

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The console script of the wheel, installed with its [terraform,inventory,spark] extras into a new venv."""
    root = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(root / "dist"), str(REPO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (root / "dist").glob("artifact_gc-*.whl")
    venv.create(root / "venv", with_pip=True)
    pip = root / "venv" / "bin" / "pip"
    done = subprocess.run(
        [
            str(pip),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"{wheel}[terraform,inventory,spark]",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return root / "venv" / "bin" / "artifact-gc"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with local_stack() as running:
        yield running


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory outside the checkout, with no terraform/ or modules/ beside it."""
    folder = tmp_path / "somewhere-else"
    folder.mkdir()
    assert not (folder / "terraform").exists()
    return folder


def run(
    cli: Path, cwd: Path, stack: LocalStack, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTIFACT_GC_", "PYTHON", "PYSPARK"))}
    env |= stack.env | (extra_env or {})
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    done = subprocess.run(
        [str(cli), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_the_wheel_ships_its_runtime_files(installed: Path) -> None:
    site = next((installed.parent.parent / "lib").glob("python3*/site-packages/artifact_gc"))
    for relative in (
        "data/s3_prices.json",
        "templates/report.html.j2",
        "terraform/bundled/modules/lifecycle-policy/main.tf",
        "terraform/bundled/terraform/lifecycle-preview/main.tf",
        "data/log4j2-spark-local.properties",
        "cli/spark_job.py",
    ):
        assert (site / relative).is_file(), relative
    assert not (site / "terraform" / "bundled" / "modules" / "lifecycle-policy").is_symlink()


def test_every_subcommand_works_installed_from_any_directory(
    installed: Path, stack: LocalStack, elsewhere: Path
) -> None:
    bucket, table = "wheel-artifacts", "wheel-registry"
    seed_demo(stack, bucket, table)
    outputs = elsewhere / "outputs.json"
    outputs.write_text(json.dumps(gc_config_outputs(bucket, table)))

    assert run(installed, elsewhere, stack, "version").stdout.strip() == "0.1.0"
    assert "reset-registry-history" in run(installed, elsewhere, stack, "--help").stdout

    plan = run(installed, elsewhere, stack, "plan", "--tf-outputs", "outputs.json", "--out", "plan.jsonl",
               "--max-delete-fraction", "0.9")  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    # the same plan from an S3 Inventory delivery (artifact-gc[inventory]), written as Parquet
    from artifact_gc.collect.planfile import iter_candidates

    from inventory_builder import bucket_rows, write_delivery

    versioned = stack.client("s3").get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled"
    rows = bucket_rows(stack.client("s3"), bucket, versioned)
    manifest = write_delivery(
        elsewhere / "dest", rows, bucket, "Parquet", versioned, datetime.now(timezone.utc)
    )
    inventory = run(installed, elsewhere, stack, "plan", "--tf-outputs", "outputs.json", "--out", "plan.parquet",
                    "--max-delete-fraction", "0.9", "--inventory", str(manifest))  # fmt: skip
    assert inventory.returncode == 0, inventory.stderr
    keys = [c.obj.key for c in iter_candidates(elsewhere / "plan.jsonl")]
    assert keys and [c.obj.key for c in iter_candidates(elsewhere / "plan.parquet")] == keys
    report = run(installed, elsewhere, stack, "report", "--bucket", bucket, "--format", "html",
                 "--out", "report.html", "--plan", "plan.jsonl")  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert "<svg" in (elsewhere / "report.html").read_text()
    text = run(installed, elsewhere, stack, "report", "--bucket", bucket, "--no-history")
    assert text.returncode == 0 and "STANDARD" in text.stdout, text.stderr
    # the report from the inventory, aggregated by DuckDB, equals the listed one
    common = ("report", "--bucket", bucket, "--no-history", "--format", "json", "--plan", "plan.jsonl")
    listed = run(installed, elsewhere, stack, *common)
    read = run(installed, elsewhere, stack, *common, "--inventory", str(manifest))
    assert listed.returncode == 0 and read.returncode == 0, listed.stderr + read.stderr
    for part in ("current", "noncurrent", "totals", "projection"):
        assert json.loads(read.stdout)[part] == json.loads(listed.stdout)[part], part

    tfvars = elsewhere / "dev.tfvars"
    tfvars.write_text((REPO / "terraform" / "envs" / "dev.tfvars").read_text())
    lint = run(installed, elsewhere, stack, "lint-policy", "--tfvars", "dev.tfvars")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "rules, 0 errors" in lint.stdout
    proposed = run(installed, elsewhere, stack, "report", "--bucket", bucket, "--proposed-tfvars", "dev.tfvars",
                   "--no-history", "--format", "json")  # fmt: skip
    assert proposed.returncode == 0, proposed.stderr
    missing = run(
        installed, elsewhere, stack, "lint-policy", "--tfvars", "dev.tfvars", "--preview-dir", "nope"
    )
    assert missing.returncode == 2 and "--preview-dir nope" in missing.stderr

    gate_plan = elsewhere / "tfplan.json"
    gate_plan.write_text((REPO / "tests" / "fixtures" / "plans" / "safe-create-dev.json").read_text())
    assert run(installed, elsewhere, stack, "tf-gate", "tfplan.json").returncode == 0

    apply = run(installed, elsewhere, stack, "apply", "plan.jsonl", "--yes", "--max-delete-fraction", "0.9")
    assert apply.returncode == 0, apply.stderr
    restore = run(
        installed, elsewhere, stack, "restore", "plan.jsonl.audit.jsonl", "--yes", "--concurrency", "2"
    )
    assert restore.returncode == 0, restore.stdout + restore.stderr
    assert "Restored" in restore.stdout
    rescue = run(installed, elsewhere, stack, "rescue", "--bucket", bucket, "--plan", "plan.jsonl")
    assert rescue.returncode == 0, rescue.stderr
    reset = run(installed, elsewhere, stack, "reset-registry-history", "--bucket", bucket, "--yes")
    assert reset.returncode == 0, reset.stderr


def test_the_spark_job_runs_installed_under_spark_submit_and_its_plan_applies(
    installed: Path, stack: LocalStack, elsewhere: Path
) -> None:
    """`plan --engine spark` from the installed CLI, the packaged job under the wheel's own spark-submit
    (the cluster entry point, in local mode), and `apply` of the plan folder: the embedded engine's plan."""
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        pytest.skip("Spark local mode needs Java 17 or later (java on PATH or JAVA_HOME)")
    from artifact_gc.collect.planfile import iter_candidates

    from inventory_builder import bucket_rows, write_delivery

    bucket, table = "spark-artifacts", "spark-registry"
    seed_demo(stack, bucket, table)
    (elsewhere / "outputs.json").write_text(json.dumps(gc_config_outputs(bucket, table)))
    s3 = stack.client("s3")
    versioned = s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled"
    manifest = write_delivery(
        elsewhere / "dest",
        bucket_rows(s3, bucket, versioned),
        bucket,
        "CSV",
        versioned,
        datetime.now(timezone.utc),
    )
    common = ["--tf-outputs", "outputs.json", "--max-delete-fraction", "0.9", "--inventory", str(manifest)]
    embedded = run(installed, elsewhere, stack, "plan", "--out", "embedded.jsonl", *common)
    assert embedded.returncode == 0, embedded.stderr
    spark = run(installed, elsewhere, stack, "plan", "--engine", "spark", "--spark-master", "local[2]",
                "--out", "spark.parquet", "--json", *common)  # fmt: skip
    assert spark.returncode == 0, spark.stderr
    # Spark's JVM and workers write nothing to stdout: --json stays JSON
    assert json.loads(spark.stdout)["totals"]["candidates"] > 0
    bin_dir = installed.parent
    job = next((bin_dir.parent / "lib").glob("python3*/site-packages/artifact_gc/cli/spark_job.py"))
    submit_env = {"PYSPARK_PYTHON": str(bin_dir / "python")}
    submitted = run(bin_dir / "spark-submit", elsewhere, stack, "--master", "local[2]", str(job),
                    "--out", "submitted.parquet", *common, extra_env=submit_env)  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    keys = [c.obj.key for c in iter_candidates(elsewhere / "embedded.jsonl")]
    assert keys
    assert [c.obj.key for c in iter_candidates(elsewhere / "spark.parquet")] == keys
    assert [c.obj.key for c in iter_candidates(elsewhere / "submitted.parquet")] == keys
    apply = run(
        installed, elsewhere, stack, "apply", "spark.parquet", "--yes", "--max-delete-fraction", "0.9"
    )
    assert apply.returncode == 0, apply.stderr
    remaining = {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                 for o in page.get("Contents", [])}  # fmt: skip
    assert not set(keys) & remaining
