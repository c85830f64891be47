"""`plan --engine spark`: the embedded engine's candidates and counts from Spark in local mode (CSV, ORC and
Parquet, versioned or not, adversarial keys, batches cut small); the plan folder it writes is applied and
checked whole; every refusal holds on Spark; the CLI says what is wrong in one line."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_inventory_plan import CONFIG, candidates, plan, populate

from artifact_gc.collect.apply import ApplyOptions, execute_apply, prepare_apply
from artifact_gc.collect.planfile import iter_candidates, read_header
from artifact_gc.collect.planner import PlanOptions, raise_if_refused, run_plan
from artifact_gc.config import parse_spark_conf
from artifact_gc.errors import SafetyError, UsageError

from conftest import BUCKET, TABLE, World
from inventory_builder import bucket_rows, write_delivery

pytest.importorskip("pyspark")
if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip(
        "Spark local mode needs Java 17 or later (java on PATH or JAVA_HOME)", allow_module_level=True
    )
pytestmark = pytest.mark.spark

# Small Arrow batches: every executor task decides several batches, as on a real inventory.
SMALL_BATCHES = (("spark.sql.execution.arrow.maxRecordsPerBatch", "3"),)


def spark_options(out: Path, **options: Any) -> PlanOptions:
    defaults: dict[str, Any] = {
        "keep_globs": ("*.lock",),
        "max_delete_fraction": 1.0,
        "engine": "spark",
        "spark_master": "local[2]",
        "spark_conf": SMALL_BATCHES,
    }
    return PlanOptions(out=out, **(defaults | options))


def spark_plan(world: World, out: Path, **config: Any) -> Path:
    result = run_plan(replace(CONFIG, **config), spark_options(out), world.clients(), world.now)
    raise_if_refused(result)
    return out


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
@pytest.mark.parametrize("file_format", ["CSV", "ORC", "Parquet"])
def test_spark_plans_exactly_the_embedded_engines_candidates(
    tmp_path: Path, file_format: str, versioned: bool
) -> None:
    from moto import mock_aws

    with mock_aws():
        world = World(versioned=versioned)
        populate(world)  # spaces, '+', '%', unicode, v1 vs v10, a keep glob, a young object, other scopes
        manifest = write_delivery(
            tmp_path / "dest",
            bucket_rows(world.s3, BUCKET, versioned),
            BUCKET,
            file_format,
            versioned,
            world.now,
        )
        embedded = plan(world, tmp_path / "embedded.jsonl", inventory=str(manifest))
        spark = spark_plan(world, tmp_path / "spark.parquet", inventory=str(manifest))
    assert spark.is_dir()
    assert candidates(spark) == candidates(embedded)
    assert len(candidates(spark)) >= 4
    header, expected = read_header(spark), read_header(embedded)
    assert header["totals"] == expected["totals"]
    assert header["totals"]["protected_non_folder"] == 1  # models/v10/w.bin, kept by models/v1 mid-name
    assert header["object_source"]["inventory"]["engine"] == "spark"
    assert header["object_source"]["inventory"]["manifest"] == str(manifest)


def many_keys_world(world: World) -> None:
    """Enough candidates for Spark to write several parts, with references in between."""
    for number in range(60):
        world.put(f"models/run-{number:03d}/weights.bin", age_days=30, body=b"x" * number)
    for number in range(0, 60, 7):
        world.register(f"s3://{BUCKET}/models/run-{number:03d}/")


@pytest.fixture(scope="module")
def spark_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plan folder written by Spark (several parts), kept read-only: tests copy it to tamper with it."""
    from moto import mock_aws

    root = tmp_path_factory.mktemp("spark-folder")
    with mock_aws():
        world = World()
        many_keys_world(world)
        manifest = write_delivery(
            root / "dest", bucket_rows(world.s3, BUCKET, False), BUCKET, "Parquet", False, world.now, files=3
        )
        # no coalescing of the sort's partitions: the folder must hold several parts
        conf = (*SMALL_BATCHES, ("spark.sql.adaptive.coalescePartitions.enabled", "false"))
        result = run_plan(
            replace(CONFIG, inventory=str(manifest)),
            spark_options(root / "plan.parquet", spark_conf=conf),
            world.clients(),
            world.now,
        )
        raise_if_refused(result)
    return root / "plan.parquet"


def parts(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith("part-"))


def test_the_plan_folder_holds_every_candidate_in_key_order_with_one_header(spark_folder: Path) -> None:
    assert len(parts(spark_folder)) >= 2
    assert (spark_folder / "_SUCCESS").exists()
    keys = [c.obj.key for c in iter_candidates(spark_folder)]
    assert keys == sorted(keys) and len(keys) == 60 - 9
    header = read_header(spark_folder)
    assert header["totals"]["candidates"] == len(keys)
    assert all(c.obj.etag.startswith('"') and c.obj.etag.endswith('"') for c in iter_candidates(spark_folder))
    assert all(c.obj.last_modified.tzinfo is not None for c in iter_candidates(spark_folder))


def test_a_spark_plan_is_applied_and_journaled_by_its_folder(world: World, tmp_path: Path) -> None:
    many_keys_world(world)
    manifest = write_delivery(
        tmp_path / "dest", bucket_rows(world.s3, BUCKET, False), BUCKET, "CSV", False, world.now, files=3
    )
    out = spark_plan(world, tmp_path / "plan.parquet", inventory=str(manifest))
    planned = {c.obj.key for c in iter_candidates(out)}
    world.register(f"s3://{BUCKET}/models/run-001/")  # registered after the plan: apply keeps it
    options = ApplyOptions(audit_path=tmp_path / "audit.jsonl", max_delete_fraction=1.0)
    clients = world.clients()
    result = execute_apply(
        prepare_apply(out, replace(CONFIG), options, clients, datetime.now(timezone.utc)), clients, options
    )
    assert result.deleted == len(planned) - 1 and result.failed == []
    remaining = world.listed_keys()
    assert "models/run-001/weights.bin" in remaining
    assert not (planned - {"models/run-001/weights.bin"}) & remaining
    assert {f"models/run-{n:03d}/weights.bin" for n in range(0, 60, 7)} <= remaining


@pytest.fixture
def tampered(spark_folder: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy.parquet"
    shutil.copytree(spark_folder, copy)
    return copy


def refused_apply(world: World, folder: Path, tmp_path: Path) -> str:
    options = ApplyOptions(audit_path=tmp_path / "audit.jsonl", max_delete_fraction=1.0)
    with pytest.raises((UsageError, SafetyError)) as caught:
        prepare_apply(folder, replace(CONFIG), options, world.clients(), datetime.now(timezone.utc))
    return str(caught.value)


def test_a_plan_folder_missing_a_part_is_refused(world: World, tampered: Path, tmp_path: Path) -> None:
    many_keys_world(world)
    parts(tampered)[-1].unlink()
    assert "but its header says" in refused_apply(world, tampered, tmp_path)


def test_a_plan_folder_with_a_part_twice_is_refused(world: World, tampered: Path, tmp_path: Path) -> None:
    many_keys_world(world)
    first = parts(tampered)[0]
    shutil.copy(first, tampered / ("part-99999" + first.name[len("part-00000") :]))
    message = refused_apply(world, tampered, tmp_path)
    assert "but its header says" in message or "order" in message


def test_a_part_of_another_plan_is_refused(tampered: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    last = parts(tampered)[-1]
    table = pq.read_table(last)
    pq.write_table(table.replace_schema_metadata({b"artifact_gc_header": b'{"kind": "other"}'}), last)
    with pytest.raises(UsageError, match="belongs to another plan"):
        read_header(tampered)


def test_a_stray_file_in_a_plan_folder_is_refused(tampered: Path) -> None:
    (tampered / "notes.txt").write_text("not a part")
    with pytest.raises(UsageError, match="not a readable Parquet file"):
        read_header(tampered)


def test_bookkeeping_files_are_not_parts_and_an_empty_folder_is_no_plan(
    tampered: Path, tmp_path: Path
) -> None:
    (tampered / ".part-00000.crc").write_bytes(b"\x00")
    (tampered / "_committed_1").write_text("{}")
    assert read_header(tampered)["kind"] == "artifact-gc-plan"
    empty = tmp_path / "empty.parquet"
    empty.mkdir()
    (empty / "_SUCCESS").write_text("")
    with pytest.raises(UsageError, match="a folder without plan parts"):
        read_header(empty)


def test_an_edited_header_in_a_part_is_refused(tampered: Path) -> None:
    import pyarrow.parquet as pq

    for part in parts(tampered):
        metadata = pq.read_schema(part).metadata
        raw = metadata[b"org.apache.spark.sql.parquet.row.metadata"].decode()
        edited = raw.replace(BUCKET, "another-bucket")
        table = pq.read_table(part)
        pq.write_table(
            table.replace_schema_metadata(
                metadata | {b"org.apache.spark.sql.parquet.row.metadata": edited.encode()}
            ),
            part,
        )
    with pytest.raises(UsageError, match="edited after"):
        read_header(tampered)


def test_spark_writes_over_an_earlier_plan_but_never_over_another_folder(
    world: World, spark_folder: Path, tmp_path: Path
) -> None:
    populate(world)
    manifest = write_delivery(
        tmp_path / "dest", bucket_rows(world.s3, BUCKET, False), BUCKET, "Parquet", False, world.now
    )
    earlier = tmp_path / "earlier.parquet"
    shutil.copytree(spark_folder, earlier)
    spark_plan(world, earlier, inventory=str(manifest))
    assert {c.obj.key for c in iter_candidates(earlier)} == {c[1] for c in candidates(earlier)}
    assert "models/v2/w.bin" in {c.obj.key for c in iter_candidates(earlier)}
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(UsageError, match="a folder that is not an artifact-gc plan"):
        spark_plan(world, precious, inventory=str(manifest))
    assert (precious / "thesis.tex").read_text() == "years of work"
    # a plan folder someone keeps other things in (here a hidden folder) is not replaced either
    (earlier / ".git").mkdir()
    (earlier / ".git" / "HEAD").write_text("ref: refs/heads/main")
    with pytest.raises(UsageError, match="a folder that is not an artifact-gc plan"):
        spark_plan(world, earlier, inventory=str(manifest))
    assert (earlier / ".git" / "HEAD").exists()
    # and the embedded engine refuses a folder as its plan file, before any work
    with pytest.raises(UsageError, match="is a folder: give the plan file's path"):
        plan(world, earlier, inventory=str(manifest))
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture
def delivered(world: World, tmp_path: Path) -> Path:
    populate(world)
    return write_delivery(
        tmp_path / "dest", bucket_rows(world.s3, BUCKET, False), BUCKET, "CSV", False, world.now
    )


def spark_refused(world: World, tmp_path: Path, manifest: Path, **config: Any) -> str:
    out = tmp_path / "refused.parquet"
    with pytest.raises(SafetyError) as caught:
        run_plan(
            replace(CONFIG, inventory=str(manifest), **config), spark_options(out), world.clients(), world.now
        )
    assert not out.exists()
    return str(caught.value)


def test_a_data_file_that_does_not_match_its_md5_is_refused_on_spark(
    world: World, delivered: Path, tmp_path: Path
) -> None:
    first = json.loads(delivered.read_text())["files"][0]["key"]
    data = tmp_path / "dest" / first
    data.write_bytes(data.read_bytes() + b"\n")
    assert "does not match the manifest's MD5" in spark_refused(world, tmp_path, delivered)


def test_a_stale_or_foreign_or_incomplete_delivery_is_refused_on_spark(world: World, tmp_path: Path) -> None:
    populate(world)
    rows = bucket_rows(world.s3, BUCKET, False)
    stale = write_delivery(tmp_path / "old", rows, BUCKET, "CSV", False, world.now - timedelta(hours=49))
    assert "more than --max-inventory-age 48 h" in spark_refused(world, tmp_path, stale)
    foreign = write_delivery(tmp_path / "foreign", rows, "someone-else", "CSV", False, world.now)
    assert "describes bucket 'someone-else'" in spark_refused(world, tmp_path, foreign)
    partial = write_delivery(tmp_path / "partial", rows, BUCKET, "CSV", False, world.now)
    (partial.parent / "manifest.checksum").unlink()
    assert "has no manifest.checksum" in spark_refused(world, tmp_path, partial)


def test_an_empty_registry_is_refused_on_spark(world: World, tmp_path: Path) -> None:
    for key in ("models/a", "models/b"):
        world.put(key, age_days=30)
    manifest = write_delivery(
        tmp_path / "dest", bucket_rows(world.s3, BUCKET, False), BUCKET, "CSV", False, world.now
    )
    assert "empty" in spark_refused(world, tmp_path, manifest).lower()


def test_a_data_file_spark_cannot_read_as_its_format_is_refused(world: World, tmp_path: Path) -> None:
    populate(world)
    manifest = write_delivery(
        tmp_path / "dest", bucket_rows(world.s3, BUCKET, False), BUCKET, "CSV", False, world.now
    )
    document = json.loads(manifest.read_text())
    garbage = b'"a","b"\n"unterminated\n'
    import gzip

    for entry in document["files"]:
        body = gzip.compress(garbage)
        (tmp_path / "dest" / entry["key"]).write_bytes(body)
        entry["MD5checksum"] = hashlib.md5(body).hexdigest()
    body = json.dumps(document).encode()
    manifest.write_bytes(body)
    (manifest.parent / "manifest.checksum").write_text(hashlib.md5(body).hexdigest())
    message = spark_refused(world, tmp_path, manifest)
    assert "Spark cannot read its data files as CSV" in message
    assert "rows of current objects lack a key, size, date or ETag" in message


def test_executors_check_each_remote_data_files_md5(tmp_path: Path) -> None:
    """What an s3:// delivery gets on a cluster (file:// URIs here: the hadoop-aws jars are not in PySpark)."""
    from artifact_gc.collect.spark_mark import spark_session, verify_on_spark

    spark = spark_session("local[2]", {})
    folder = tmp_path / "dest [copy]"
    folder.mkdir()
    good, bad = folder / "a b%20{1}.csv.gz", folder / "b*.csv.gz"
    good.write_bytes(b"first")
    bad.write_bytes(b"second")
    md5 = {p: hashlib.md5(p.read_bytes()).hexdigest() for p in (good, bad)}
    verify_on_spark(spark, {str(p): md5[p] for p in (good, bad)})
    with pytest.raises(SafetyError, match=r"b\*.csv.gz does not match the manifest's MD5"):
        verify_on_spark(spark, {str(good): md5[good], str(bad): md5[good]})
    with pytest.raises(SafetyError, match="refusing to plan"):
        verify_on_spark(spark, {str(folder / "gone.csv.gz"): md5[good]})


def cli(*args: str) -> Any:
    from typer.testing import CliRunner

    from artifact_gc.cli.app import app

    return CliRunner().invoke(app, ["plan", "--bucket", BUCKET, "--registry-table", TABLE, *args])


def test_the_cli_plans_on_spark_and_refuses_bad_spark_input_in_one_line(
    world: World, delivered: Path, tmp_path: Path
) -> None:
    out = world.cli_plan(
        tmp_path / "cli.parquet", "--inventory", str(delivered), "--engine", "spark",
        "--spark-master", "local[1]", "--spark-conf", "spark.sql.shuffle.partitions=3",
    )  # fmt: skip
    assert out.is_dir() and read_header(out)["object_source"]["inventory"]["engine"] == "spark"
    cases = {
        ("--engine", "spark", "--prefix", "models/", "--out", str(tmp_path / "x.parquet")): "--engine spark marks an S3 Inventory",
        ("--engine", "spark", "--inventory", str(delivered), "--out", str(tmp_path / "x.jsonl")): "writes a Parquet plan folder",
        ("--engine", "spark", "--spark-conf", "spark.executor.memory", "--out", "y"): "--spark-conf 'spark.executor.memory'",
        ("--engine", "flink", "--out", "z"): "flink",
    }  # fmt: skip
    for args, message in cases.items():
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.parquet").exists() and not (tmp_path / "x.jsonl").exists()


def test_without_pyspark_the_cli_says_how_to_install_it(
    delivered: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if not installed: import raises ImportError
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    out = tmp_path / "none.parquet"
    result = cli("--prefix", "models/", "--inventory", str(delivered), "--engine", "spark", "--out", str(out))
    assert result.exit_code == 2
    assert "pip install 'artifact-gc[spark]'" in result.output and not out.exists()


@settings(max_examples=200, deadline=None)
@given(key=st.text(max_size=12), value=st.text(max_size=12))
def test_spark_conf_pairs_parse_or_are_refused_by_name(key: str, value: str) -> None:
    pair = f"{key}={value}"
    name, _, rest = pair.partition("=")
    if name and name == name.strip():
        assert parse_spark_conf([pair]) == {name: rest}
    else:
        with pytest.raises(UsageError, match="--spark-conf"):
            parse_spark_conf([pair])
    with pytest.raises(UsageError, match="expected KEY=VALUE"):
        parse_spark_conf([key.replace("=", "")])


def test_report_and_rescue_read_a_spark_plan_folder_as_its_embedded_twin(
    world: World, delivered: Path, tmp_path: Path
) -> None:
    from artifact_gc.report.build import load_prices, run_report

    embedded = plan(world, tmp_path / "embedded.jsonl", inventory=str(delivered))
    folder = spark_plan(world, tmp_path / "spark.parquet", inventory=str(delivered))

    def report(plan_path: Path) -> dict[str, Any]:
        return run_report(
            world.clients(), BUCKET, ("",), 1, load_prices("us-east-1"), world.now, plan_path=plan_path
        )

    from_folder = report(folder)
    assert from_folder == report(embedded)
    assert f"({len(candidates(embedded)):,} deleted)" in json.dumps(from_folder)
    result = cli_rescue("--plan", str(folder))
    assert result.exit_code == 0, result.output
    # rescue read every candidate of the folder (none was quarantined, so none carried the tag)
    assert f"{len(candidates(embedded)):,} others carried no quarantine tag" in result.output


def cli_rescue(*args: str) -> Any:
    from typer.testing import CliRunner

    from artifact_gc.cli.app import app

    return CliRunner().invoke(app, ["rescue", *args])


@contextlib.contextmanager
def fresh_process_stack(
    tmp_path: Path, keys: tuple[str, ...], references: str
) -> Iterator[tuple[dict[str, str], list[str]]]:
    """For a CLI run in a fresh process (a test worker's Spark may already be running): the emulator with
    ``keys`` in the bucket, a registry file of ``references`` and a CSV delivery of the bucket; yields the
    child's environment and the plan arguments (scope models/, every object old enough)."""
    from artifact_gc.local_stack import local_stack

    with local_stack() as stack:
        # the server shares moto's state with every earlier stack of this test worker: start from none
        urllib.request.urlopen(urllib.request.Request(f"{stack.endpoint_url}/moto-api/reset", method="POST"))
        s3 = stack.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        for key in keys:
            s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
        registry = tmp_path / "registry.txt"
        registry.write_text(references)
        manifest = write_delivery(
            tmp_path / "dest",
            bucket_rows(s3, BUCKET, False),
            BUCKET,
            "CSV",
            False,
            datetime.now(timezone.utc),
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTIFACT_GC_", "PYSPARK", "SPARK"))}
        yield env | stack.env, [
            "plan", "--bucket", BUCKET, "--manifest", str(registry), "--prefix", "models/",
            "--min-age-days", "0", "--max-delete-fraction", "1", "--inventory", str(manifest),
        ]  # fmt: skip


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "artifact_gc", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_without_java_spark_says_what_it_needs_in_one_line(tmp_path: Path) -> None:
    """A machine without Java: exit 2 naming what to install, no traceback, no plan."""
    out = tmp_path / "plan.parquet"
    with fresh_process_stack(tmp_path, ("models/a",), f"s3://{BUCKET}/models/keep/\n") as (env, plan_args):
        no_java = {"JAVA_HOME": str(tmp_path / "no-java"), "PATH": "/usr/bin/nonexistent"}
        done = run_cli([*plan_args, "--engine", "spark", "--out", str(out)], env | no_java)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "needs Java 17 or later" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_local_spark_given_an_s3_delivery_says_to_copy_it_down(world: World, tmp_path: Path) -> None:
    """The delivery itself is found and checked through boto3; PySpark's local mode has no S3 connector to
    read its data files, and says what to do instead (exit 2), writing nothing."""
    from inventory_builder import upload

    populate(world)
    world.s3.create_bucket(Bucket="inventory-dest")
    write_delivery(
        tmp_path / "dest", bucket_rows(world.s3, BUCKET, False), BUCKET, "Parquet", False, world.now
    )
    upload(world.s3, tmp_path / "dest", "inventory-dest")
    out = tmp_path / "plan.parquet"
    with pytest.raises(UsageError, match=r"cannot read s3:// .*aws s3 sync"):
        run_plan(
            replace(CONFIG, inventory=f"s3://inventory-dest/inventory/{BUCKET}/artifact-gc-daily/"),
            spark_options(out),
            world.clients(),
            world.now,
        )
    assert not out.exists()


def test_spark_connect_plans_the_embedded_engines_candidates(tmp_path: Path) -> None:
    """Spark Connect (Databricks serverless and standard access mode) has no SparkContext to broadcast
    with: the references travel inside the task function. A local Connect server (SPARK_REMOTE, a fresh
    process) plans what the embedded engine plans."""
    pytest.importorskip("grpc")
    keys = ("models/keep/a", "models/v1/w", "models/v10/w", "models/a b+c/%", "models/ü/x")
    references = f"s3://{BUCKET}/models/keep/\ns3://{BUCKET}/models/v1\n"
    with fresh_process_stack(tmp_path, keys, references) as (env, plan_args):
        runs = {
            "embedded.jsonl": ([], {}),
            "connect.parquet": (["--engine", "spark", "--spark-master", ""], {"SPARK_REMOTE": "local[2]"}),
        }
        for name, (extra, more_env) in runs.items():
            child_env = env | {"PYSPARK_PYTHON": sys.executable} | more_env
            done = run_cli([*plan_args, *extra, "--out", str(tmp_path / name)], child_env)
            assert done.returncode == 0, done.stdout + done.stderr
    spark = candidates(tmp_path / "connect.parquet")
    assert spark == candidates(tmp_path / "embedded.jsonl")
    assert {c[1] for c in spark} == {"models/a b+c/%", "models/ü/x"}
    connect, embedded = read_header(tmp_path / "connect.parquet"), read_header(tmp_path / "embedded.jsonl")
    assert connect["totals"] == embedded["totals"] and connect["totals"]["protected_non_folder"] == 1
