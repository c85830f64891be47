"""`plan --inventory`: the same candidates as a plan by listing, for CSV, ORC and Parquet deliveries,
versioned or not, with keys that need URL-encoding; and every refusal of a delivery that cannot be trusted."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artifact_gc.collect.apply import ApplyOptions, execute_apply, prepare_apply
from artifact_gc.collect.planfile import iter_candidates, read_header
from artifact_gc.collect.planner import PlanOptions, raise_if_refused, run_plan
from artifact_gc.config import GcConfig
from artifact_gc.errors import SafetyError

from conftest import BUCKET, TABLE, World
from inventory_builder import bucket_rows, upload, write_delivery

CONFIG = GcConfig(bucket=BUCKET, registry_tables=(TABLE,), prefixes=("models/", "checkpoints/"))
KEYS = [
    "models/v1/w.bin",  # referenced
    "models/v10/w.bin",  # kept by v1 mid-name
    "models/v2/w.bin",
    "models/a b/c+d.bin",  # a space and a plus: CSV encodes them as + and %2B
    "models/100%/x",
    "models/ü/é.bin",
    "models/☃/𝄞",
    "models/keep/me.lock",
    "checkpoints/run-1/step-10",
    "checkpoints/run-2/step-20",
    "other/outside-scope",
]


def populate(world: World) -> None:
    for key in KEYS:
        world.put(key, age_days=30)
    world.put("models/young", age_days=1)
    world.register("s3://" + BUCKET + "/models/v1")
    world.register("s3://" + BUCKET + "/checkpoints/run-1/")
    if world.s3.get_bucket_versioning(Bucket=BUCKET).get("Status") == "Enabled":
        world.put("models/v2/w.bin", age_days=20)  # a noncurrent version below the current one
        world.s3.delete_object(Bucket=BUCKET, Key="models/100%/x")  # latest is a delete marker


def plan(world: World, out: Path, **config: Any) -> Path:
    result = run_plan(
        replace(CONFIG, **config),
        PlanOptions(out=out, keep_globs=("*.lock",), max_delete_fraction=1.0),
        world.clients(),
        world.now,
    )
    raise_if_refused(result)
    return out


def candidates(path: Path) -> list[tuple]:
    return [
        (
            c.prefix,
            c.obj.key,
            c.obj.size,
            c.obj.etag,
            c.obj.storage_class,
            c.obj.version_id,
            c.obj.current_version_id,
            int(c.obj.last_modified.timestamp()),
        )
        for c in iter_candidates(path)
    ]


@pytest.fixture(params=[False, True], ids=["unversioned", "versioned"])
def filled(request: pytest.FixtureRequest) -> World:
    from moto import mock_aws

    with mock_aws():
        world = World(versioned=request.param)
        populate(world)
        yield world


@pytest.mark.parametrize("file_format", ["CSV", "ORC", "Parquet"])
@pytest.mark.parametrize("out_name", ["plan.jsonl", "plan.parquet"])
def test_an_inventory_plan_equals_a_listing_plan(
    filled: World, tmp_path: Path, file_format: str, out_name: str
) -> None:
    world = filled
    versioned = world.s3.get_bucket_versioning(Bucket=BUCKET).get("Status") == "Enabled"
    listed = plan(world, tmp_path / "listed.jsonl")
    manifest = write_delivery(
        tmp_path / "dest", bucket_rows(world.s3, BUCKET, versioned), BUCKET, file_format, versioned, world.now
    )
    planned = plan(world, tmp_path / out_name, inventory=str(manifest))
    expected = candidates(listed)
    assert {c[1] for c in expected} == {
        "models/v2/w.bin",
        "models/a b/c+d.bin",
        "models/ü/é.bin",
        "models/☃/𝄞",
        "checkpoints/run-2/step-20",
    } | (set() if versioned else {"models/100%/x"})
    assert candidates(planned) == expected
    header, listed_header = read_header(planned), read_header(listed)
    assert header["totals"] == listed_header["totals"]
    assert header["object_source"]["inventory"]["format"] == file_format
    assert listed_header["object_source"] == "list"


def test_the_folder_of_a_configuration_takes_the_newest_complete_delivery(
    world: World, tmp_path: Path
) -> None:
    populate(world)
    rows = bucket_rows(world.s3, BUCKET, False)
    older = write_delivery(tmp_path / "dest", rows, BUCKET, "Parquet", False, world.now - timedelta(hours=5))
    newest = write_delivery(
        tmp_path / "dest", rows[:1], BUCKET, "Parquet", False, world.now - timedelta(hours=1)
    )
    (newest.parent / "manifest.checksum").unlink()  # still being delivered
    folder = older.parent.parent
    out = plan(world, tmp_path / "plan.jsonl", inventory=str(folder))
    assert read_header(out)["object_source"]["inventory"]["manifest"] == str(older)


def refused(world: World, tmp_path: Path, inventory: str, **options: Any) -> str:
    with pytest.raises(SafetyError) as caught:
        run_plan(
            replace(CONFIG, inventory=inventory),
            PlanOptions(out=tmp_path / "refused.jsonl", max_delete_fraction=1.0, **options),
            world.clients(),
            world.now,
        )
    assert not (tmp_path / "refused.jsonl").exists()
    return str(caught.value)


@pytest.fixture
def delivered(world: World, tmp_path: Path) -> tuple[World, Path]:
    populate(world)
    return world, write_delivery(
        tmp_path / "dest", bucket_rows(world.s3, BUCKET, False), BUCKET, "CSV", False, world.now
    )


def test_a_delivery_without_its_checksum_is_refused(delivered: tuple[World, Path], tmp_path: Path) -> None:
    world, manifest = delivered
    (manifest.parent / "manifest.checksum").unlink()
    assert "has no manifest.checksum" in refused(world, tmp_path, str(manifest))


def test_a_checksum_that_does_not_match_is_refused(delivered: tuple[World, Path], tmp_path: Path) -> None:
    world, manifest = delivered
    manifest.write_text(manifest.read_text().replace('"2016-11-30"', '"2016-11-31"'))
    assert "manifest.checksum is not the MD5 of manifest.json" in refused(world, tmp_path, str(manifest))


def test_a_data_file_that_does_not_match_its_md5_is_refused(
    delivered: tuple[World, Path], tmp_path: Path
) -> None:
    world, manifest = delivered
    first = json.loads(manifest.read_text())["files"][0]["key"]
    data = tmp_path / "dest" / first
    data.write_bytes(data.read_bytes() + b"\n")
    assert "does not match the manifest's MD5" in refused(world, tmp_path, str(manifest))


def test_an_inventory_of_another_bucket_is_refused(world: World, tmp_path: Path) -> None:
    populate(world)
    manifest = write_delivery(
        tmp_path / "dest", bucket_rows(world.s3, BUCKET, False), "someone-else", "CSV", False, world.now
    )
    assert "describes bucket 'someone-else', not" in refused(world, tmp_path, str(manifest))


def test_a_stale_inventory_is_refused(world: World, tmp_path: Path) -> None:
    populate(world)
    rows = bucket_rows(world.s3, BUCKET, False)
    manifest = write_delivery(tmp_path / "dest", rows, BUCKET, "CSV", False, world.now - timedelta(hours=49))
    assert "more than --max-inventory-age 48 h" in refused(world, tmp_path, str(manifest))
    # a larger limit accepts it
    run_plan(
        replace(CONFIG, inventory=str(manifest)),
        PlanOptions(out=tmp_path / "ok.jsonl", max_delete_fraction=1.0, max_inventory_age_seconds=50 * 3600),
        world.clients(),
        world.now,
    )
    assert (tmp_path / "ok.jsonl").exists()


def test_a_local_copy_without_its_data_files_is_refused(
    delivered: tuple[World, Path], tmp_path: Path
) -> None:
    world, manifest = delivered
    alone = tmp_path / "alone" / "manifest.json"
    alone.parent.mkdir()
    alone.write_bytes(manifest.read_bytes())
    (alone.parent / "manifest.checksum").write_bytes((manifest.parent / "manifest.checksum").read_bytes())
    assert "is in no folder above the manifest" in refused(world, tmp_path, str(alone))


def test_a_manifest_without_etags_cannot_stand_in_for_a_listing(
    delivered: tuple[World, Path], tmp_path: Path
) -> None:
    world, manifest = delivered
    document = json.loads(manifest.read_text())
    document["fileSchema"] = document["fileSchema"].replace(", ETag", "")
    body = json.dumps(document).encode()
    manifest.write_bytes(body)
    (manifest.parent / "manifest.checksum").write_text(hashlib.md5(body).hexdigest())
    assert "its schema lacks e_tag" in refused(world, tmp_path, str(manifest))


def test_an_inventory_in_s3_is_read_and_applied(versioned_world: World, tmp_path: Path) -> None:
    world = versioned_world
    populate(world)
    world.s3.create_bucket(Bucket="inventory-dest")
    listed = plan(world, tmp_path / "listed.jsonl")
    write_delivery(tmp_path / "dest", bucket_rows(world.s3, BUCKET, True), BUCKET, "Parquet", True, world.now)
    upload(world.s3, tmp_path / "dest", "inventory-dest")
    out = plan(
        world,
        tmp_path / "plan.parquet",
        inventory=f"s3://inventory-dest/inventory/{BUCKET}/artifact-gc-daily/",
    )
    assert candidates(out) == candidates(listed)
    options = ApplyOptions(audit_path=tmp_path / "audit.jsonl", max_delete_fraction=1.0)
    clients = world.clients()
    result = execute_apply(
        prepare_apply(out, GcConfig(), options, clients, datetime.now(timezone.utc)), clients, options
    )
    assert result.deleted == len(candidates(out)) == 5 and result.failed == []
    remaining = world.listed_keys()
    for _, key, *_ in candidates(out):
        assert key not in remaining
    assert "models/v1/w.bin" in remaining and "models/young" in remaining


def refused_plan_args(tmp_path: Path, manifest: Path) -> list[str]:
    out = tmp_path / "no.jsonl"
    return ["plan", "--bucket", BUCKET, "--registry-table", TABLE, "--prefix", "models/", "--out", str(out),
            "--inventory", str(manifest)]  # fmt: skip


def test_the_cli_plans_from_an_inventory_and_refuses_in_one_line(
    delivered: tuple[World, Path], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from artifact_gc.cli.app import app

    world, manifest = delivered
    out = world.cli_plan(tmp_path / "cli.parquet", "--inventory", str(manifest), "--prefix", "checkpoints/")
    assert read_header(out)["object_source"]["inventory"]["manifest"] == str(manifest)
    (manifest.parent / "manifest.checksum").write_text("0" * 32)
    args = refused_plan_args(tmp_path, manifest)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3
    assert "manifest.checksum is not the MD5 of manifest.json" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "no.jsonl").exists()
    result = CliRunner().invoke(app, [*args, "--max-inventory-age", "soon"])
    assert result.exit_code == 2 and "--max-inventory-age 'soon'" in result.output


@pytest.mark.parametrize("missing", [("duckdb",), ("pyarrow", "duckdb")], ids=["duckdb", "neither"])
def test_without_the_inventory_extra_the_cli_says_how_to_install_it(
    delivered: tuple[World, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: tuple[str, ...]
) -> None:
    """Exit 2 with the install hint, not a traceback, whichever of the extra's packages is missing: the
    mark's modules are imported afresh, as in a process that never had pyarrow."""
    import sys

    from typer.testing import CliRunner

    import artifact_gc.collect
    from artifact_gc.cli.app import app

    _, manifest = delivered
    for name in missing:
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed: import raises ImportError
    for module in ("columnar", "inventory_mark"):
        monkeypatch.setattr(
            artifact_gc.collect, module, getattr(artifact_gc.collect, module, None), raising=False
        )
        monkeypatch.delitem(sys.modules, f"artifact_gc.collect.{module}", raising=False)
    args = refused_plan_args(tmp_path, manifest)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "pip install 'artifact-gc[inventory]'" in result.output


def test_duckdb_never_draws_a_progress_bar_on_stdout(tmp_path: Path) -> None:
    """DuckDB draws a progress bar on stdout for long queries: `plan --json` would no longer be JSON."""
    from artifact_gc.collect.inventory_mark import connect

    con = connect(tmp_path)
    assert con.execute("SELECT current_setting('enable_progress_bar')").fetchall() == [(False,)]
    assert con.execute("SELECT current_setting('TimeZone')").fetchall() == [("UTC",)]


@pytest.mark.parametrize("value", ["x", "0", "-2", "1.5", "\N{FULLWIDTH DIGIT TWO}"])
def test_a_bad_thread_count_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    from artifact_gc.collect.inventory_mark import connect
    from artifact_gc.errors import UsageError

    monkeypatch.setenv("ARTIFACT_GC_THREADS", value)
    with pytest.raises(UsageError, match="ARTIFACT_GC_THREADS"):
        connect(tmp_path)
    monkeypatch.setenv("ARTIFACT_GC_THREADS", "1")
    assert connect(tmp_path).execute("SELECT current_setting('threads')").fetchall() == [(1,)]


def test_a_data_file_that_is_not_its_format_is_refused_by_plan_and_report(
    world: World, tmp_path: Path
) -> None:
    """A file whose MD5 matches but that is not Parquet: both readers say so (exit 3), no traceback."""
    from artifact_gc.report.build import load_prices, run_report

    populate(world)
    manifest = write_delivery(
        tmp_path / "dest", bucket_rows(world.s3, BUCKET, False), BUCKET, "Parquet", False, world.now
    )
    document = json.loads(manifest.read_text())
    for entry in document["files"]:
        (tmp_path / "dest" / entry["key"]).write_bytes(b"not parquet at all")
        entry["MD5checksum"] = hashlib.md5(b"not parquet at all").hexdigest()
    body = json.dumps(document).encode()
    manifest.write_bytes(body)
    (manifest.parent / "manifest.checksum").write_text(hashlib.md5(body).hexdigest())
    assert "cannot be read as Parquet with the manifest's schema" in refused(world, tmp_path, str(manifest))
    with pytest.raises(SafetyError, match="cannot be read as Parquet"):
        run_report(
            world.clients(),
            BUCKET,
            ("",),
            1,
            load_prices("us-east-1"),
            world.now,
            inventory_location=str(manifest),
        )


HEADER_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)  # S3 text is UTF-8


@settings(max_examples=60, deadline=None)
@given(text=HEADER_TEXT, keys=st.lists(HEADER_TEXT, min_size=1, max_size=6, unique=True))
def test_duckdb_writes_any_header_text_and_the_candidates_in_key_order(text: str, keys: list[str]) -> None:
    """The Parquet plan's header goes through a SQL literal: quotes, backslashes, braces and any unicode
    come back as written; the rows come back in key order (UTF-8 byte order, as S3 lists)."""
    import tempfile

    import pyarrow as pa

    from artifact_gc.collect.columnar import CANDIDATE_SCHEMA
    from artifact_gc.collect.inventory_mark import _write_plan, connect
    from artifact_gc.collect.parquet_plan import iter_parquet_candidates, read_parquet_header

    moment = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rows = [
        {"key": k, "size": 1, "last_modified": moment, "etag": '"e"', "storage_class": "STANDARD",
         "current_version_id": None, "prefix": ""}
        for k in keys
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        con = connect(Path(scratch))
        con.register("planned", pa.Table.from_pylist(rows, schema=CANDIDATE_SCHEMA))
        out = Path(scratch) / "plan.parquet"
        header = {"bucket": BUCKET, "note": text, "quoted": "it's {a: 'b'} \\ \"c\""}
        _write_plan(con, "SELECT * FROM planned ORDER BY key", {}, out, header)
        con.close()
        written = read_parquet_header(out)
        assert {k: written[k] for k in header} == header
        assert [c.obj.key for c in iter_parquet_candidates(out)] == sorted(keys, key=lambda k: k.encode())


def reseal(manifest: Path, document: dict[str, Any]) -> None:
    body = json.dumps(document).encode()
    manifest.write_bytes(body)
    (manifest.parent / "manifest.checksum").write_text(hashlib.md5(body).hexdigest())


@pytest.mark.parametrize("where", ["local", "s3"])
def test_of_many_data_files_checked_at_once_the_first_bad_one_is_named(
    world: World, tmp_path: Path, where: str
) -> None:
    """Data files are checked (and downloaded) several at once; the refusal still names the first bad
    file in the manifest's order, whichever finished first, and nothing is written."""
    populate(world)
    manifest = write_delivery(
        tmp_path / "dest", bucket_rows(world.s3, BUCKET, False), BUCKET, "CSV", False, world.now, files=6
    )
    keys = [entry["key"] for entry in json.loads(manifest.read_text())["files"]]
    for bad in (keys[4], keys[2]):
        data = tmp_path / "dest" / bad
        data.write_bytes(data.read_bytes() + b"\n")
    location = str(manifest)
    if where == "s3":
        world.s3.create_bucket(Bucket="inventory-dest")
        upload(world.s3, tmp_path / "dest", "inventory-dest")
        location = f"s3://inventory-dest/{manifest.relative_to(tmp_path / 'dest').as_posix()}"
    reason = refused(world, tmp_path, location)
    assert "does not match the manifest's MD5" in reason
    assert keys[2] in reason and keys[4] not in reason


def test_data_file_keys_that_differ_only_by_slash_and_underscore_are_both_read(
    world: World, tmp_path: Path
) -> None:
    """Downloads are named by their place in the manifest: 'data/x_y.csv.gz' and 'data/x/y.csv.gz' once
    became the same local file, so one data file was read twice and the other not at all."""
    populate(world)
    listed = plan(world, tmp_path / "listed.jsonl")
    root = tmp_path / "dest"
    manifest = write_delivery(root, bucket_rows(world.s3, BUCKET, False), BUCKET, "CSV", False, world.now)
    document = json.loads(manifest.read_text())
    for entry, key in zip(document["files"], ("data/x_y.csv.gz", "data/x/y.csv.gz"), strict=True):
        moved = entry["key"].rsplit("/data/", 1)[0] + "/" + key
        (root / moved).parent.mkdir(parents=True, exist_ok=True)
        (root / entry["key"]).rename(root / moved)
        entry["key"] = moved
    reseal(manifest, document)
    world.s3.create_bucket(Bucket="inventory-dest")
    upload(world.s3, root, "inventory-dest")
    location = f"s3://inventory-dest/{manifest.relative_to(root).as_posix()}"
    assert candidates(plan(world, tmp_path / "plan.jsonl", inventory=location)) == candidates(listed)
