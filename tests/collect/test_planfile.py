"""The plan file format: header + candidates, streamed, and refused when malformed."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from artifact_gc.collect.object_info import ObjectInfo
from artifact_gc.collect.planfile import PlanWriter, iter_candidates, read_header
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
