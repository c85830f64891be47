"""The plan file format: header + candidates, streamed, and refused when malformed."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artifact_gc.collect.object_info import ObjectInfo
from artifact_gc.collect.planfile import PlannedKeys, PlanWriter, iter_candidates, read_header
from artifact_gc.errors import UsageError

WHEN = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def write_plan(path: Path, objects: list[ObjectInfo]) -> None:
    with PlanWriter(path) as writer:
        writer.write(objects, "models/")
        writer.finish({"bucket": "b", "totals": {"candidates": writer.count}})


def test_round_trip_keeps_every_field_and_the_string_null(tmp_path: Path) -> None:
    objects = [
        ObjectInfo("models/ü/a b", 12, WHEN, '"abc"', "GLACIER_IR"),
        ObjectInfo("models/x", 0, WHEN, '"def-2"', "STANDARD", version_id=None, current_version_id="null"),
    ]
    path = tmp_path / "plan.jsonl"
    write_plan(path, objects)
    header = read_header(path)
    assert header["kind"] == "artifact-gc-plan" and header["format_version"] == 1
    assert header["totals"]["candidates"] == 2
    back = [c.obj for c in iter_candidates(path)]
    assert back == objects
    assert back[1].current_version_id == "null" and back[1].version_id is None
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[2])["version_id"] is None
    assert json.loads(lines[2])["current_version_id"] == "null"
    assert {"key", "version_id", "size", "last_modified", "storage_class", "etag"} <= set(
        json.loads(lines[1])
    )


def test_writer_leaves_no_temporary_files(tmp_path: Path) -> None:
    write_plan(tmp_path / "plan.jsonl", [ObjectInfo("k", 1, WHEN, '"e"')])
    assert [p.name for p in tmp_path.iterdir()] == ["plan.jsonl"]


def test_a_plan_interrupted_before_finish_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "plan.jsonl"
    with pytest.raises(RuntimeError), PlanWriter(path) as writer:
        writer.write([ObjectInfo("k", 1, WHEN, '"e"')], "")
        raise RuntimeError("listing failed")
    assert not path.exists() and not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("garbage\n", "line 1 is not JSON"),
        ('{"kind": "something-else"}\n', "not an artifact-gc plan header"),
        ('{"kind": "artifact-gc-plan", "format_version": 99}\n', "format version"),
    ],
)
def test_bad_headers_are_usage_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "plan.jsonl"
    path.write_text(content)
    with pytest.raises(UsageError, match=message):
        read_header(path)


@pytest.mark.parametrize(
    "line",
    [
        '{"key": "k", "version_id": null, "size": 1, "last_modified": "2025-01-01T00:00:00Z", "etag": "e"',  # truncated
        '{"key": "k", "version_id": null, "size": -1, "last_modified": "2025-01-01T00:00:00Z", "etag": "e"}',
        '{"key": "k", "version_id": 5, "size": 1, "last_modified": "2025-01-01T00:00:00Z", "etag": "e"}',
        '{"key": "k", "version_id": null, "size": 1, "last_modified": "yesterday", "etag": "e"}',
        '{"key": "k", "version_id": null, "size": 1, "last_modified": "2025-01-01T00:00:00", "etag": "e"}',  # no zone
        '{"version_id": null, "size": 1, "last_modified": "2025-01-01T00:00:00Z", "etag": "e"}',
        "[1, 2]",
    ],
)
def test_bad_candidate_lines_name_the_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "plan.jsonl"
    path.write_text('{"kind": "artifact-gc-plan", "format_version": 1}\n' + line + "\n")
    with pytest.raises(UsageError, match="line 2"):
        list(iter_candidates(path))


def test_missing_plan_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        read_header(tmp_path / "nope.jsonl")


GOOD = {
    "key": "models/a",
    "version_id": "v1",
    "current_version_id": "v1",
    "size": 3,
    "last_modified": "2025-01-02T03:04:05Z",
    "etag": '"e"',
    "prefix": "models/",
}


def test_a_record_keeps_its_version_prefix_and_storage_class() -> None:
    from artifact_gc.collect.planfile import candidate_from_record

    candidate = candidate_from_record(GOOD | {"storage_class": "GLACIER_IR"}, "here")
    assert (candidate.obj.version_id, candidate.prefix, candidate.obj.storage_class) == (
        "v1",
        "models/",
        "GLACIER_IR",
    )
    bare = candidate_from_record(
        {k: v for k, v in GOOD.items() if k != "prefix"} | {"storage_class": None}, "here"
    )
    assert (bare.prefix, bare.obj.storage_class) == ("", "STANDARD")


@pytest.mark.parametrize(
    ("record", "why"),
    [
        ([1], "not an object"),
        (GOOD | {"etag": 5}, "key and etag must be strings"),
        (GOOD | {"key": 5}, "key and etag must be strings"),
        (GOOD | {"version_id": 7}, "version_id must be a string or null"),
        (GOOD | {"size": True}, "size must be a whole number of bytes"),
        (GOOD | {"size": -1}, "size must be a whole number of bytes"),
        (GOOD | {"size": 1.5}, "size must be a whole number of bytes"),
        (GOOD | {"last_modified": "2025-01-02T03:04:05"}, "'2025-01-02T03:04:05' has no time zone"),
    ],
)
def test_each_bad_record_is_named_with_its_reason(record: object, why: str) -> None:
    from artifact_gc.collect.planfile import candidate_from_record

    with pytest.raises(UsageError) as caught:
        candidate_from_record(record, "plan p line 2")
    assert str(caught.value) == f"plan p line 2: not a valid plan candidate ({why})"


def test_the_prefix_is_written_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "plan.jsonl"
    write_plan(path, [ObjectInfo("models/a", 1, WHEN, '"e"')])
    assert json.loads(path.read_text().splitlines()[1])["prefix"] == "models/"
    assert [c.prefix for c in iter_candidates(path)] == ["models/"]


def test_the_header_digest_is_of_the_content_not_of_its_order() -> None:
    from artifact_gc.collect.planfile import header_digest

    first = header_digest({"bucket": "b", "scope": {"prefixes": ["a/"], "cutoff": "x"}})
    assert first.startswith("sha256:") and len(first) == len("sha256:") + 64
    assert header_digest({"scope": {"cutoff": "x", "prefixes": ["a/"]}, "bucket": "b"}) == first
    assert header_digest({"bucket": "c", "scope": {"prefixes": ["a/"], "cutoff": "x"}}) != first
    assert (
        header_digest({"bucket": "b", "scope": {"prefixes": ["a/"], "cutoff": "x"}, "header_digest": "y"})
        == first
    )
    assert header_digest({"bucket": "\udcff"}).startswith("sha256:")  # a lone surrogate from a raw key


def test_an_edited_header_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "plan.jsonl"
    write_plan(path, [ObjectInfo("models/a", 1, WHEN, '"e"')])
    lines = path.read_text().splitlines()
    header = json.loads(lines[0]) | {"bucket": "other"}
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    with pytest.raises(UsageError) as caught:
        read_header(path)
    assert str(caught.value) == (
        f"plan {path}: its header was edited after `artifact-gc plan` wrote it (bucket 'other', scope or "
        "registry no longer match its digest): plan again"
    )


def test_a_future_format_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.jsonl"
    path.write_text(json.dumps({"kind": "artifact-gc-plan", "format_version": 2}) + "\n")
    with pytest.raises(UsageError) as caught:
        read_header(path)
    assert str(caught.value) == (
        f"plan {path}: format version 2 is not 1; re-run `artifact-gc plan` with this version"
    )


def test_unreadable_plans_say_why(tmp_path: Path) -> None:
    """A folder is read as a Spark plan folder: one without parts says so, for the header and the rows."""
    with pytest.raises(UsageError) as caught:
        read_header(tmp_path)
    assert str(caught.value) == f"plan {tmp_path}: a folder without plan parts; plan again"
    with pytest.raises(UsageError) as caught:
        list(iter_candidates(tmp_path))
    assert str(caught.value) == f"plan {tmp_path}: a folder without plan parts; plan again"
    binary = tmp_path / "plan.bin"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UsageError) as caught:
        read_header(binary)
    assert str(caught.value) == f"plan {binary}: not UTF-8 text, not a plan written by `artifact-gc plan`"
    broken = tmp_path / "plan.jsonl"
    write_plan(broken, [ObjectInfo("models/a", 1, WHEN, '"e"')])
    broken.write_bytes(broken.read_bytes() + b'{"key": "\xff"}\n')
    with pytest.raises(UsageError) as caught:
        list(iter_candidates(broken))
    assert str(caught.value).startswith(f"plan {broken}: not UTF-8 text (byte ") and str(
        caught.value
    ).endswith(" of a line): plan again")


def test_a_blank_line_does_not_end_the_plan(tmp_path: Path) -> None:
    path = tmp_path / "plan.jsonl"
    write_plan(path, [ObjectInfo("models/a", 1, WHEN, '"e"'), ObjectInfo("models/b", 1, WHEN, '"e"')])
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[1], "", "   ", lines[2]]) + "\n")
    assert [c.obj.key for c in iter_candidates(path)] == ["models/a", "models/b"]


@pytest.fixture
def tokyo(monkeypatch: pytest.MonkeyPatch):
    """A machine whose local time is not UTC: times in plans must not follow it."""
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_times_are_utc_whatever_the_local_zone(tokyo: None) -> None:
    from datetime import timedelta

    from artifact_gc.collect.planfile import isoformat, parse_iso

    assert isoformat(WHEN) == "2025-01-02T03:04:05Z"
    assert isoformat(WHEN.astimezone(timezone(timedelta(hours=2)))) == "2025-01-02T03:04:05Z"
    parsed = parse_iso("2025-01-02T05:04:05+02:00")
    assert parsed == WHEN and parsed.tzinfo is timezone.utc
    assert parse_iso("2025-01-02T03:04:05Z").tzinfo is timezone.utc


def test_a_parquet_plan_is_read_by_the_same_readers(tmp_path: Path) -> None:
    """Plans too large for JSON Lines are Parquet (the header in the file's metadata): same header checks,
    same candidates."""
    import pyarrow as pa

    from artifact_gc.collect.columnar import CANDIDATE_SCHEMA
    from artifact_gc.collect.parquet_plan import write_parquet_plan
    from artifact_gc.collect.planfile import header_digest

    header = {"kind": "artifact-gc-plan", "format_version": 1, "bucket": "b", "totals": {"candidates": 1}}
    header["header_digest"] = header_digest(header)
    row = {
        "key": "models/a",
        "size": 3,
        "last_modified": WHEN,
        "etag": '"e"',
        "storage_class": "STANDARD",
        "current_version_id": "v1",
        "prefix": "models/",
    }
    path = tmp_path / "plan.parquet"
    write_parquet_plan(path, header, [pa.RecordBatch.from_pylist([row], schema=CANDIDATE_SCHEMA)])
    assert read_header(path) == header
    (candidate,) = iter_candidates(path)
    assert candidate.obj == ObjectInfo("models/a", 3, WHEN, '"e"', "STANDARD", None, "v1")
    assert candidate.prefix == "models/"
    edited = tmp_path / "edited.parquet"
    write_parquet_plan(edited, header | {"bucket": "c"}, [])
    with pytest.raises(UsageError) as caught:
        read_header(edited)
    assert str(caught.value).startswith(f"plan {edited}: its header was edited")


def test_a_plan_writer_ending_in_parquet_writes_parquet_in_order(tmp_path: Path) -> None:
    """PlanWriter (the listing's plan) writes Parquet for a .parquet path: the same candidates in the same
    order, every field kept, in batches of any size; a noncurrent version has no place there."""
    from artifact_gc.collect.columnar import CANDIDATE_SCHEMA
    from artifact_gc.collect.planfile import _candidate_batches, candidate_record

    objects = [
        ObjectInfo(f"models/{name}", size, WHEN, f'"{size}"', "GLACIER_IR", None, current)
        for size, (name, current) in enumerate([("z", "null"), ("a b", None), ("ü", "v3"), ("é/x", None), ("0", "v")])
    ]  # fmt: skip
    path = tmp_path / "plan.parquet"
    write_plan(path, objects)
    assert path.read_bytes()[:4] == b"PAR1"
    assert read_header(path)["totals"]["candidates"] == 5
    assert [c.obj for c in iter_candidates(path)] == objects  # the writer's order, not a sorted one
    lines = [json.dumps(candidate_record(o, "models/")) + "\n" for o in objects]
    batches = list(_candidate_batches(lines, rows=2))
    assert [b.num_rows for b in batches] == [2, 2, 1]
    assert all(b.schema == CANDIDATE_SCHEMA for b in batches)
    assert [k for b in batches for k in b.column("key").to_pylist()] == [o.key for o in objects]
    assert list(_candidate_batches([])) == []
    noncurrent = json.dumps(candidate_record(ObjectInfo("k", 1, WHEN, '"e"', version_id="v1"), "")) + "\n"
    with pytest.raises(ValueError) as caught:
        list(_candidate_batches([noncurrent]))
    assert str(caught.value) == "a Parquet plan names current versions only"


KEYS = st.lists(st.text(alphabet="ab/é", min_size=1, max_size=4), max_size=12, unique=True).map(sorted)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    planned=KEYS, asked=st.lists(st.text(alphabet="ab/é", max_size=4), max_size=20), walks=st.integers(1, 3)
)
def test_planned_keys_answer_as_the_set_of_candidates(
    tmp_path: Path, planned: list[str], asked: list[str], walks: int
) -> None:
    """What report --plan asks while it walks the bucket: several walks in key order (one per scope
    prefix), each going back to the start; the answers are the set's, without holding the set."""
    path = tmp_path / "plan.jsonl"
    write_plan(path, [ObjectInfo(k, 1, datetime(2026, 1, 1, tzinfo=timezone.utc), '"e"') for k in planned])
    keys = PlannedKeys(path)
    questions = [key for _ in range(walks) for key in sorted(asked)] + asked  # the last walk unordered
    assert [q in keys for q in questions] == [q in set(planned) for q in questions]
    assert 5 not in keys


@pytest.mark.parametrize("planned", [("b", "a"), ("a", "a")], ids=["backwards", "twice"])
def test_planned_keys_refuse_a_plan_out_of_key_order(tmp_path: Path, planned: tuple[str, str]) -> None:
    """Strictly increasing: a key planned twice is refused as a key going back is."""
    path = tmp_path / "plan.jsonl"
    write_plan(path, [ObjectInfo(k, 1, datetime(2026, 1, 1, tzinfo=timezone.utc), '"e"') for k in planned])
    with pytest.raises(UsageError) as caught:
        _ = "z" in PlannedKeys(path)
    assert str(caught.value) == (
        f"plan {path}: candidate {planned[1]!r} is out of key order (after {planned[0]!r}); plan again"
    )


def test_a_plan_that_cannot_be_opened_is_named_with_the_reason(tmp_path: Path) -> None:
    missing = tmp_path / "gone.jsonl"
    for read in (read_header, lambda path: list(iter_candidates(path))):
        with pytest.raises(UsageError) as caught:
            read(missing)
        assert str(caught.value) == f"plan {missing}: cannot read it (No such file or directory)"
