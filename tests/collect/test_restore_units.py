"""restore's parts on their own, in-process against moto: what the audit log means, which ids are
verified delete markers, what S3 answers per key, and which objects are really back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from artifact_gc.collect.restore import check_markers, read_audit, remove_markers, still_deleted
from artifact_gc.errors import UsageError

from conftest import BUCKET, World


def audit_file(tmp_path: Path, *records: dict) -> Path:
    path = tmp_path / "audit.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def record(key: str, marker: str | None = None, **extra) -> dict:
    return {"action": "delete", "bucket": BUCKET, "key": key, "delete_marker_version_id": marker, **extra}


def test_read_audit_sorts_markers_from_permanent_deletions(tmp_path: Path) -> None:
    plan = read_audit(
        audit_file(
            tmp_path,
            record("a", "m1"),
            record("a", "m1"),  # recorded twice: one marker
            record("b"),  # no marker: permanent
            record("c", "null", permanent=True),  # suspended versioning: the marker replaced the data
            record("d", "m4") | {"action": "quarantine"},  # tags, not a deletion
        )
    )
    assert plan.bucket == BUCKET
    assert plan.markers == [("a", "m1")]
    assert plan.permanent == ["b", "c"]


def test_read_audit_refusals_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="mixes buckets"):
        read_audit(audit_file(tmp_path, record("a", "m"), record("b", "m") | {"bucket": "other"}))
    with pytest.raises(UsageError, match="line 2: not an artifact-gc audit record"):
        read_audit(audit_file(tmp_path, record("a", "m"), {"bucket": BUCKET}))
    with pytest.raises(UsageError, match="is empty"):
        read_audit(audit_file(tmp_path))
    with pytest.raises(UsageError, match="records 1 quarantined objects"):
        read_audit(audit_file(tmp_path, record("a") | {"action": "quarantine"}))
    with pytest.raises(UsageError, match="is a plan, not an audit log"):
        read_audit(audit_file(tmp_path, {"kind": "artifact-gc-plan", "bucket": BUCKET}))
    with pytest.raises(UsageError, match=r"audit log .*missing"):
        read_audit(tmp_path / "missing")


def deleted_with_marker(world: World, key: str) -> tuple[str, str]:
    world.put(key)
    data = world.s3.list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"][0]["VersionId"]
    marker = world.s3.delete_object(Bucket=BUCKET, Key=key)["VersionId"]
    return data, marker


def test_only_verified_delete_markers_are_kept(versioned_world: World) -> None:
    world = versioned_world
    data, marker = deleted_with_marker(world, "models/a")
    kept, unverified, gone = check_markers(
        world.s3, BUCKET, [("models/a", marker), ("models/a", data), ("models/none", "x")]
    )
    assert kept == [("models/a", marker)]
    assert unverified == []
    assert gone == ["models/a", "models/none"]  # a data version id is never a marker to remove


def test_an_unverifiable_marker_is_named_with_the_reason(versioned_world: World) -> None:
    world = versioned_world
    _, marker = deleted_with_marker(world, "models/a")

    def denied(**_: object) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListObjectVersions")

    world.s3.meta.events.register("before-call.s3.ListObjectVersions", denied)
    kept, unverified, gone = check_markers(world.s3, BUCKET, [("models/a", marker)])
    assert kept == [] and gone == []
    assert unverified == [("models/a", f"cannot verify {marker} is a delete marker: AccessDenied: no")]


def test_remove_markers_restores_and_reports_what_was_already_gone(versioned_world: World) -> None:
    world = versioned_world
    _, marker = deleted_with_marker(world, "models/a")
    result = remove_markers(world.s3, BUCKET, [("models/a", marker)])
    assert result.restored == ["models/a"] and result.already == [] and result.failed == []
    assert world.s3.head_object(Bucket=BUCKET, Key="models/a")["ContentLength"] == 1
    again = remove_markers(world.s3, BUCKET, [("models/a", marker)])
    assert again.restored + again.already == ["models/a"] and again.failed == []


def test_every_batchs_answers_are_kept(versioned_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world = versioned_world
    pairs = [(k, deleted_with_marker(world, k)[1]) for k in ("models/a", "models/b", "models/c")]

    def a_is_gone(parsed: dict, **_: object) -> None:
        if any(d.get("Key") == "models/a" for d in parsed.get("Deleted", ())):
            parsed["Deleted"] = []
            parsed["Errors"] = [{"Key": "models/a", "VersionId": pairs[0][1], "Code": "NoSuchVersion"}]

    world.s3.meta.events.register("after-call.s3.DeleteObjects", a_is_gone)
    monkeypatch.setattr("artifact_gc.collect.restore.MAX_BATCH", 1)
    result = remove_markers(world.s3, BUCKET, pairs, 2)
    assert (result.already, result.restored, result.failed) == (["models/a"], ["models/b", "models/c"], [])


def test_remove_markers_reports_a_failing_request_for_every_key(versioned_world: World) -> None:
    world = versioned_world
    _, marker = deleted_with_marker(world, "models/a")

    def throttled(**_: object) -> None:
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "reduce"}}, "DeleteObjects")

    world.s3.meta.events.register("before-call.s3.DeleteObjects", throttled)
    result = remove_markers(world.s3, BUCKET, [("models/a", marker)])
    assert result.failed == [("models/a", "SlowDown: reduce")] and result.restored == []


def test_still_deleted_names_keys_that_are_not_back(versioned_world: World) -> None:
    world = versioned_world
    world.put("models/back")
    deleted_with_marker(world, "models/gone")
    assert still_deleted(world.s3, BUCKET, ["models/back", "models/gone", "models/gone"]) == [
        ("models/gone", "still deleted (another delete marker is current)")
    ]


@pytest.mark.parametrize(
    ("error", "restored", "already", "failed"),
    [
        (
            {"Key": "models/a", "VersionId": "{marker}", "Code": "NoSuchVersion", "Message": "gone"},
            [],
            ["models/a"],
            [],
        ),
        ({"Key": "models/a", "Code": "NoSuchKey", "Message": "gone"}, [], ["models/a"], []),  # no VersionId
        (
            {"Key": "models/a", "VersionId": "{marker}", "Code": "AccessDenied", "Message": "denied"},
            [],
            [],
            [("models/a", "AccessDenied: denied")],
        ),
    ],
)
def test_remove_markers_reads_every_per_key_error(
    versioned_world: World, error: dict, restored: list, already: list, failed: list
) -> None:
    """S3 answers DeleteObjects per key; the answer is read, key by key (the error is put into the
    emulator's real answer with a botocore hook: moto does not fail single keys by itself)."""
    world = versioned_world
    _, marker = deleted_with_marker(world, "models/a")
    entry = {k: (v.format(marker=marker) if isinstance(v, str) else v) for k, v in error.items()}

    def per_key_error(parsed: dict, **_: object) -> None:
        parsed["Deleted"] = []
        parsed["Errors"] = [entry]

    world.s3.meta.events.register("after-call.s3.DeleteObjects", per_key_error)
    result = remove_markers(world.s3, BUCKET, [("models/a", marker)])
    assert (result.restored, result.already, result.failed) == (restored, already, failed)


def test_read_audit_reads_past_blank_and_quarantine_lines(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = [
        json.dumps(record("models/q1", action="quarantine")),
        "",
        json.dumps(record("models/q2", action="quarantine")),
        json.dumps(record("models/a", "m-a")),
        json.dumps(record("models/b", None)),
    ]
    path.write_text("\n".join(lines) + "\n")
    plan = read_audit(path)
    assert plan.markers == [("models/a", "m-a")] and plan.permanent == ["models/b"]
    only_tags = audit_file(
        tmp_path, record("models/q1", action="quarantine"), record("models/q2", action="quarantine")
    )
    with pytest.raises(UsageError) as caught:
        read_audit(only_tags)
    assert str(caught.value) == (
        f"audit log {only_tags} records 2 quarantined objects, no deletions: "
        "`artifact-gc rescue --plan PLAN` removes their quarantine tags"
    )


def count_calls(world: World, operation: str) -> list[dict]:
    seen: list[dict] = []
    world.s3.meta.events.register(
        f"before-parameter-build.s3.{operation}", lambda params, **_: seen.append(dict(params))
    )
    return seen


def test_markers_go_in_batches_and_a_failed_batch_does_not_stop_the_next(
    versioned_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = versioned_world
    markers = [deleted_with_marker(world, f"models/{name}")[1] for name in "abc"]
    pairs = [(f"models/{name}", marker) for name, marker in zip("abc", markers, strict=True)]
    calls = count_calls(world, "DeleteObjects")
    assert remove_markers(world.s3, BUCKET, pairs).restored == ["models/a", "models/b", "models/c"]
    assert len(calls) == 1  # three markers, one request

    world2_pairs = [(k, deleted_with_marker(world, k)[1]) for k in ("models/d", "models/e", "models/f")]
    monkeypatch.setattr("artifact_gc.collect.restore.MAX_BATCH", 1)
    failures = iter([True, False, True])

    def sometimes(**_: object) -> None:
        if next(failures):
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "reduce"}}, "DeleteObjects")

    world.s3.meta.events.register("before-call.s3.DeleteObjects", sometimes)
    result = remove_markers(world.s3, BUCKET, world2_pairs)
    assert result.failed == [("models/d", "SlowDown: reduce"), ("models/f", "SlowDown: reduce")]
    assert result.restored == ["models/e"]


def test_an_error_for_one_version_of_a_key_is_not_read_as_the_others(versioned_world: World) -> None:
    world = versioned_world
    _, first = deleted_with_marker(world, "models/a")
    world.s3.delete_object(Bucket=BUCKET, Key="models/a")  # a second marker on top
    second = world.s3.list_object_versions(Bucket=BUCKET, Prefix="models/a")["DeleteMarkers"]
    other = next(m["VersionId"] for m in second if m["VersionId"] != first)

    def one_error(parsed: dict, **_: object) -> None:
        parsed["Deleted"] = [d for d in parsed.get("Deleted", ()) if d.get("VersionId") != first]
        parsed["Errors"] = [{"Key": "models/a", "VersionId": first, "Code": "AccessDenied"}]

    world.s3.meta.events.register("after-call.s3.DeleteObjects", one_error)
    result = remove_markers(world.s3, BUCKET, [("models/a", first), ("models/a", other)])
    assert result.failed == [("models/a", "AccessDenied: ")]  # no Message: nothing after the colon
    assert result.restored == ["models/a"]


def test_check_markers_lists_only_under_each_key_and_goes_on_after_a_failure(versioned_world: World) -> None:
    world = versioned_world
    _, a = deleted_with_marker(world, "models/a")
    _, b = deleted_with_marker(world, "models/b")
    calls = count_calls(world, "ListObjectVersions")
    failures = iter([True, False])

    def first_fails(**_: object) -> None:
        if next(failures):
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "reduce"}}, "ListObjectVersions")

    world.s3.meta.events.register("before-call.s3.ListObjectVersions", first_fails)
    kept, unverified, gone = check_markers(world.s3, BUCKET, [("models/a", a), ("models/b", b)])
    assert kept == [("models/b", b)] and gone == []
    assert unverified == [("models/a", f"cannot verify {a} is a delete marker: SlowDown: reduce")]
    # least privilege: a role may list only where the GC works, so each listing stays under its key
    assert [c.get("Prefix") for c in calls] == ["models/a", "models/b"]


@pytest.mark.parametrize("code", ["404", "NoSuchKey", "NotFound", "405", "MethodNotAllowed"])
def test_every_spelling_of_not_there_means_still_deleted(versioned_world: World, code: str) -> None:
    world = versioned_world
    world.put("models/a")

    def answer(**_: object) -> None:
        raise ClientError({"Error": {"Code": code, "Message": "x"}}, "HeadObject")

    world.s3.meta.events.register("before-call.s3.HeadObject", answer)
    assert still_deleted(world.s3, BUCKET, ["models/a"]) == [
        ("models/a", "still deleted (another delete marker is current)")
    ]


def test_a_head_that_fails_otherwise_is_named(versioned_world: World) -> None:
    from botocore.exceptions import EndpointConnectionError

    world = versioned_world
    world.put("models/a")
    world.put("models/b")
    answers = iter(
        [
            ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "HeadObject"),
            EndpointConnectionError(endpoint_url="https://s3.example"),
        ]
    )

    def fail(**_: object) -> None:
        raise next(answers)

    world.s3.meta.events.register("before-call.s3.HeadObject", fail)
    missing = still_deleted(world.s3, BUCKET, ["models/a", "models/b"])
    assert missing == [
        ("models/a", "cannot check it is back: AccessDenied: denied"),
        ("models/b", 'cannot check it is back: Could not connect to the endpoint URL: "https://s3.example"'),
    ]


def test_a_marker_on_a_later_page_is_found_and_the_listing_stops_at_the_next_key(
    versioned_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key's versions come first under its own prefix: they may span pages (read them all), and
    the first page that reaches a longer key ends the listing (a folder-like key with a million objects
    below it costs one request, not a thousand)."""
    world = versioned_world
    _, older = deleted_with_marker(world, "models/a")
    newer = world.s3.delete_object(Bucket=BUCKET, Key="models/a")["VersionId"]  # a marker on top
    deleted_with_marker(world, "models/a/0")  # the next key: its delete marker comes first
    _, b = deleted_with_marker(world, "models/b")
    for key in ("models/a/1", "models/ab", "models/b/1", "models/b/2"):  # models/b/1: a data version
        world.put(key)
    monkeypatch.setattr("artifact_gc.collect.restore.VERSIONS_PAGE", 1)
    calls = count_calls(world, "ListObjectVersions")
    pairs = [("models/a", older), ("models/a", newer), ("models/b", b)]
    kept, unverified, gone = check_markers(world.s3, BUCKET, pairs)
    assert kept == pairs and unverified == [] and gone == []
    # models/a, listed once for its two markers: newer marker, older marker, data version, then a page
    # with only models/a/0's marker ends it; models/b: its marker, its data version, then models/b/1's
    # version ends it
    assert [c["Prefix"] for c in calls] == ["models/a"] * 4 + ["models/b"] * 3


@pytest.mark.parametrize("workers", [1, 4])
def test_many_keys_at_once_answer_as_one_at_a_time_would(versioned_world: World, workers: int) -> None:
    """Restore's three passes with several requests at once: every list in the order of its input, each
    key with its own answer, and the pause between rounds (the CLI's lease renewal) taken."""
    world = versioned_world
    pairs = [(f"models/{i:02d}", deleted_with_marker(world, f"models/{i:02d}")[1]) for i in range(0, 70, 2)]
    pairs.insert(5, ("models/none", "no-such-marker"))
    denied = {"models/10", "models/40"}

    def deny_some(params: dict, **_: object) -> None:
        if params.get("Prefix") in denied:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListObjectVersions")

    world.s3.meta.events.register("before-parameter-build.s3.ListObjectVersions", deny_some)
    rounds: list[int] = []
    kept, unverified, gone = check_markers(world.s3, BUCKET, pairs, workers, lambda: rounds.append(1))
    assert [k for k, _ in unverified] == ["models/10", "models/40"] and gone == ["models/none"]
    assert kept == [(k, m) for k, m in pairs if k not in denied and k != "models/none"]
    assert len(rounds) == -(-len(pairs) // (32 * workers))

    rounds.clear()
    result = remove_markers(world.s3, BUCKET, kept, workers, lambda: rounds.append(1))
    assert result.restored == [k for k, _ in kept] and result.failed == []
    assert len(rounds) == 1  # one batch of markers: one round
    world.s3.delete_object(Bucket=BUCKET, Key="models/20")  # deleted again after the restore
    keys = [k for k, _ in pairs]
    rounds.clear()
    assert still_deleted(world.s3, BUCKET, keys, workers, lambda: rounds.append(1)) == [
        (k, "still deleted (another delete marker is current)")
        for k in keys
        if k in denied or k in ("models/none", "models/20")
    ]
    assert len(rounds) == -(-len(keys) // (32 * workers))


def test_a_key_holding_a_line_separator_stays_on_its_audit_line(tmp_path: Path) -> None:
    """apply writes the audit log with ensure_ascii=False: U+2028 and U+0085 are written as they are,
    and reading the log must not cut a line there (str.splitlines would)."""
    keys = ["models/a\u2028b", "models/c\x85d", "models/e\u2029f"]
    path = tmp_path / "audit.jsonl"
    with path.open("w", encoding="utf-8") as log:
        for number, key in enumerate(keys):
            log.write(json.dumps(record(key, f"m{number}"), ensure_ascii=False) + "\n")
    assert read_audit(path).markers == [(key, f"m{n}") for n, key in enumerate(keys)]


def test_read_audit_keeps_the_first_of_repeated_markers_in_log_order(tmp_path: Path) -> None:
    records = [record(f"models/{i % 7}", f"m{i % 7}") for i in range(50)]
    assert read_audit(audit_file(tmp_path, *records)).markers == [(f"models/{i}", f"m{i}") for i in range(7)]
