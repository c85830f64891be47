"""Apply's decisions one function at a time: the plan walk, batching, the registry filter and the re-check.

The emulator tests drive these through `apply`; here each is pinned directly (in-process moto for the
re-check), fast enough for `make mutation` to run them for every mutant.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from artifact_gc.collect import apply
from artifact_gc.collect.apply import (
    ApplyResult,
    _batches,
    _check_candidate_in_plan_scope,
    _recheck,
    _same_object,
    _unprotected,
    tally_candidates,
)
from artifact_gc.collect.object_info import ObjectInfo
from artifact_gc.collect.planfile import Candidate
from artifact_gc.errors import UsageError
from artifact_gc.refs.reachability import ReferenceSet

from conftest import BUCKET, World

PLAN = Path("plan.jsonl")
CUTOFF = datetime(2026, 11, 1, tzinfo=timezone.utc)
OLD = CUTOFF - timedelta(days=1)


def cand(key: str, prefix: str = "models/", size: int = 1, current: str | None = None) -> Candidate:
    return Candidate(ObjectInfo(key, size, OLD, '"e"', current_version_id=current), prefix)


def refs(*keys: str) -> ReferenceSet:
    return ReferenceSet.from_uris([f"s3://{BUCKET}/{k}" for k in keys], BUCKET)


# ----------------------------------------------------------------------------------------- plan walk


def test_tally_counts_what_the_registry_no_longer_protects() -> None:
    plan = [cand("models/a", size=3), cand("models/b", size=5), cand("models/c", size=7)]
    tally = tally_candidates(PLAN, plan, refs("models/b"), ["models/"], CUTOFF, "Enabled", {"candidates": 3})
    assert (tally.to_delete, tally.to_delete_bytes, tally.newly_protected) == (2, 10, ["models/b"])
    assert tally.permanent_null == 0


def test_tally_counts_null_versions_of_a_suspended_bucket_as_permanent() -> None:
    plan = [cand("models/a", current="null"), cand("models/b", current=None), cand("models/c", current="v2")]
    tally = tally_candidates(PLAN, plan, refs(), ["models/"], CUTOFF, "Suspended", {"candidates": 3})
    assert tally.permanent_null == 2
    enabled = tally_candidates(PLAN, plan, refs(), ["models/"], CUTOFF, "Enabled", {"candidates": 3})
    assert enabled.permanent_null == 0
    protected = tally_candidates(
        PLAN, plan, refs("models/a"), ["models/"], CUTOFF, "Suspended", {"candidates": 3}
    )
    assert protected.permanent_null == 1  # a kept candidate is not deleted, permanently or not


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            ["models/a", "models/a"],
            "plan plan.jsonl: candidate 'models/a' is listed twice: the file was edited",
        ),
        (
            ["models/b", "models/a"],
            "plan plan.jsonl: candidate 'models/a' is out of key order (after 'models/b'): the file was edited",
        ),
    ],
)
def test_tally_refuses_repeated_and_unordered_keys(keys: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        tally_candidates(
            PLAN, [cand(k) for k in keys], refs(), ["models/"], CUTOFF, "Disabled", {"candidates": 2}
        )
    assert str(caught.value) == (
        message + " (deleting a key twice leaves two delete markers that one restore cannot undo); plan again"
    )


def test_tally_refuses_a_count_that_is_not_the_headers() -> None:
    plan = [cand("models/a"), cand("models/b")]
    for header_count in (1, 3, None):
        with pytest.raises(UsageError) as caught:
            tally_candidates(
                PLAN, plan, refs(), ["models/"], CUTOFF, "Disabled", {"candidates": header_count}
            )
        assert str(caught.value) == (
            f"plan plan.jsonl: holds 2 candidates but its header says {header_count}: "
            "the file is truncated or edited; plan again"
        )
    assert (
        tally_candidates(PLAN, [], refs(), ["models/"], CUTOFF, "Disabled", {"candidates": 0}).to_delete == 0
    )


def test_a_candidate_outside_the_scope_or_too_young_is_refused() -> None:
    inside = ObjectInfo("models/a", 1, OLD, '"e"')
    _check_candidate_in_plan_scope(PLAN, inside, ["data/", "models/"], CUTOFF)
    with pytest.raises(UsageError) as caught:
        _check_candidate_in_plan_scope(PLAN, ObjectInfo("other/a", 1, OLD, '"e"'), ["models/"], CUTOFF)
    assert str(caught.value) == (
        "plan plan.jsonl: candidate 'other/a' lies outside the plan's scope ['models/']; plan again"
    )
    for moment in (CUTOFF, CUTOFF + timedelta(seconds=1)):
        with pytest.raises(UsageError) as caught:
            _check_candidate_in_plan_scope(
                PLAN, ObjectInfo("models/a", 1, moment, '"e"'), ["models/"], CUTOFF
            )
        assert (
            str(caught.value)
            == "plan plan.jsonl: candidate 'models/a' is younger than the plan's cutoff; plan again"
        )
    _check_candidate_in_plan_scope(
        PLAN, ObjectInfo("models/a", 1, CUTOFF - timedelta(microseconds=1), ""), ["models/"], CUTOFF
    )
    with pytest.raises(UsageError):  # a tally walks every candidate through that check
        tally_candidates(PLAN, [cand("other/a")], refs(), ["models/"], CUTOFF, "Disabled", {"candidates": 1})


# ------------------------------------------------------------------------------------------ batching


def test_batches_hold_at_most_size_and_never_span_two_prefixes() -> None:
    plan = [cand(f"a/{i}", "a/") for i in range(5)] + [cand(f"b/{i}", "b/") for i in range(2)]
    batches = [[c.obj.key for c in batch] for batch in _batches(iter(plan), 2)]
    assert batches == [["a/0", "a/1"], ["a/2", "a/3"], ["a/4"], ["b/0", "b/1"]]
    assert [len(b) for b in _batches(iter(plan), 1)] == [1] * 7
    assert [len(b) for b in _batches(iter(plan), 10)] == [5, 2]
    assert list(_batches(iter([]), 3)) == []


def test_unprotected_keeps_and_reports_each_newly_protected_key_once() -> None:
    result = ApplyResult()
    kept: set[str] = set()
    batch = [cand("models/a"), cand("models/b/x"), cand("models/c")]
    assert [c.obj.key for c in _unprotected(batch, refs("models/b"), kept, result)] == [
        "models/a",
        "models/c",
    ]
    assert result.newly_protected == ["models/b/x"] and kept == {"models/b/x"}
    assert [c.obj.key for c in _unprotected(batch, refs("models/b"), kept, result)] == [
        "models/a",
        "models/c",
    ]
    assert result.newly_protected == ["models/b/x"]  # not reported twice


# ------------------------------------------------------------------------------------------ re-check


def test_same_object_compares_etag_size_and_the_second() -> None:
    moment = datetime(2026, 1, 1, 12, 0, 0, 500000, tzinfo=timezone.utc)
    planned = ObjectInfo("k", 10, moment, '"e"')
    assert _same_object(planned, '"e"', 10, moment.replace(microsecond=0))  # HEAD has no milliseconds
    assert _same_object(planned, '"e"', 10, moment.astimezone(timezone(timedelta(hours=2))))
    assert not _same_object(planned, '"f"', 10, moment)
    assert not _same_object(planned, '"e"', 11, moment)
    assert not _same_object(planned, '"e"', 10, moment + timedelta(seconds=1))
    assert not _same_object(planned, '"e"', 10, moment - timedelta(seconds=1))


def listed(world: World, keys: list[str]) -> list[Candidate]:
    pages = world.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    found = {o["Key"]: o for page in pages for o in page.get("Contents", ())}
    return [
        Candidate(ObjectInfo(k, found[k]["Size"], found[k]["LastModified"], found[k]["ETag"]), "models/")
        for k in keys
    ]


def count_requests(world: World) -> dict[str, int]:
    counts = {"ListObjectsV2": 0, "HeadObject": 0}

    def count(model: Any, **_: Any) -> None:
        if model.name in counts:
            counts[model.name] += 1

    world.s3.meta.events.register("before-call.s3", count)
    return counts


def test_recheck_sorts_objects_into_unchanged_changed_and_gone(world: World) -> None:
    keys = [f"models/k{i}" for i in range(6)]
    for key in keys:
        world.put(key, body=b"x")
    batch = listed(world, keys)
    world.s3.put_object(Bucket=BUCKET, Key="models/k1", Body=b"y")  # rewritten: new ETag
    world.s3.put_object(Bucket=BUCKET, Key="models/k2", Body=b"xx")  # new size
    world.s3.delete_object(Bucket=BUCKET, Key="models/k3")
    world.put("models/k4", age_days=20, body=b"x")  # same content, other LastModified
    requests = count_requests(world)
    result = ApplyResult()
    unchanged = _recheck(world.s3, BUCKET, batch, result)
    assert [c.obj.key for c in unchanged] == ["models/k0", "models/k5"]
    assert result.changed == ["models/k1", "models/k2", "models/k4"]
    assert result.gone == ["models/k3"]
    assert result.failed == []
    assert requests == {"ListObjectsV2": 1, "HeadObject": 0}  # a dense batch costs one LIST


def test_recheck_lists_only_from_the_first_key(world: World) -> None:
    """StartAfter is the first key minus its last character, so the first key itself is listed."""
    for key in ("models/a", "models/b", "models/c"):
        world.put(key)
    batch = listed(world, ["models/b"])
    result = ApplyResult()
    assert [c.obj.key for c in _recheck(world.s3, BUCKET, batch, result)] == ["models/b"]
    assert result.gone == [] and result.changed == []


def small_pages(world: World, size: int) -> None:
    def shrink(params: dict[str, Any], **_: Any) -> None:
        params["MaxKeys"] = size

    world.s3.meta.events.register("before-parameter-build.s3.ListObjectsV2", shrink)


def test_a_spread_batch_stops_listing_and_heads_the_rest(world: World) -> None:
    keys = [f"models/k{i:02d}" for i in range(12)]
    for key in keys:
        world.put(key)
    batch = listed(world, [keys[0], keys[11]])
    world.s3.delete_object(Bucket=BUCKET, Key=keys[11])
    small_pages(world, 2)
    requests = count_requests(world)
    result = ApplyResult()
    unchanged = _recheck(world.s3, BUCKET, batch, result)
    assert [c.obj.key for c in unchanged] == [keys[0]]
    assert result.gone == [keys[11]]
    assert requests == {"ListObjectsV2": apply.RECHECK_MAX_PAGES, "HeadObject": 1}


@pytest.mark.parametrize(
    "batch_size", [3, 4], ids=["stops once past the last key", "stops at the page that reaches the last key"]
)
def test_listing_stops_once_it_has_the_last_key(world: World, batch_size: int) -> None:
    """Pages of 2: the last key in the middle of page 2 (3) or at its end (4) ends the listing there."""
    keys = [f"models/k{i:02d}" for i in range(12)]
    for key in keys:
        world.put(key)
    batch = listed(world, keys[:batch_size])
    small_pages(world, 2)
    requests = count_requests(world)
    assert len(_recheck(world.s3, BUCKET, batch, ApplyResult())) == batch_size
    assert requests == {"ListObjectsV2": 2, "HeadObject": 0}


def test_a_key_absent_from_a_complete_listing_is_gone_without_a_head(world: World) -> None:
    for key in ("models/a", "models/b"):
        world.put(key)
    batch = listed(world, ["models/a", "models/b"])
    world.s3.delete_object(Bucket=BUCKET, Key="models/b")
    small_pages(world, 1)
    requests = count_requests(world)
    result = ApplyResult()
    assert [c.obj.key for c in _recheck(world.s3, BUCKET, batch, result)] == ["models/a"]
    assert result.gone == ["models/b"]
    assert requests["HeadObject"] == 0


def test_a_failed_listing_fails_the_whole_batch(world: World) -> None:
    world.put("models/a")
    batch = listed(world, ["models/a"])
    result = ApplyResult()
    assert _recheck(world.s3, "no-such-bucket-here", batch, result) == []
    assert [key for key, _ in result.failed] == ["models/a"]
    assert result.failed[0][1].startswith("re-check listing failed: ")
    assert "NoSuchBucket" in result.failed[0][1] or "does not exist" in result.failed[0][1]


def test_a_failed_head_fails_only_its_key(world: World) -> None:
    keys = [f"models/k{i:02d}" for i in range(8)]
    for key in keys:
        world.put(key)
    batch = listed(world, [keys[0], keys[7]])
    small_pages(world, 1)

    world.s3.meta.events.register("before-call.s3.HeadObject", lambda **kw: _raise_denied())
    result = ApplyResult()
    unchanged = _recheck(world.s3, BUCKET, batch, result)
    assert [c.obj.key for c in unchanged] == [keys[0]]
    assert [key for key, _ in result.failed] == [keys[7]]
    assert result.failed[0][1].startswith("re-check failed: ")


def _raise_denied() -> None:
    from botocore.exceptions import ClientError

    raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "HeadObject")


def test_a_refusal_during_the_tally_names_the_plan() -> None:
    with pytest.raises(UsageError) as caught:
        tally_candidates(PLAN, [cand("other/a")], refs(), ["models/"], CUTOFF, "Disabled", {"candidates": 1})
    assert str(caught.value).startswith("plan plan.jsonl: candidate 'other/a' lies outside")


def test_the_recheck_lists_under_the_batch_common_prefix(world: World) -> None:
    """A least-privilege role may list only inside the scope: the re-check lists under the batch's keys."""
    for key in ("models/a/1", "models/a/2", "models/b/1"):
        world.put(key)
    batch = listed(world, ["models/a/1", "models/a/2"])
    seen: list[dict[str, Any]] = []
    world.s3.meta.events.register(
        "before-parameter-build.s3.ListObjectsV2", lambda params, **_: seen.append(dict(params))
    )
    assert len(_recheck(world.s3, BUCKET, batch, ApplyResult())) == 2
    assert [s["Prefix"] for s in seen] == ["models/a/"]
    assert all(s["StartAfter"] < "models/a/1" for s in seen)


def test_an_empty_listing_means_every_key_is_gone(world: World) -> None:
    world.put("models/a")
    batch = listed(world, ["models/a"])
    world.s3.delete_object(Bucket=BUCKET, Key="models/a")
    requests = count_requests(world)
    result = ApplyResult()
    assert _recheck(world.s3, BUCKET, batch, result) == []
    assert result.gone == ["models/a"] and requests["HeadObject"] == 0


def test_keys_the_partial_listing_passed_are_gone_without_a_head(world: World) -> None:
    keys = [f"models/k{i:02d}" for i in range(12)]
    for key in keys:
        world.put(key)
    batch = listed(world, [keys[0], keys[3], keys[10], keys[11]])
    world.s3.delete_object(Bucket=BUCKET, Key=keys[3])
    world.s3.put_object(Bucket=BUCKET, Key=keys[10], Body=b"changed")
    small_pages(world, 2)
    requests = count_requests(world)
    result = ApplyResult()
    unchanged = _recheck(world.s3, BUCKET, batch, result)
    assert [c.obj.key for c in unchanged] == [keys[0], keys[11]]  # keys[11] by HEAD, unchanged
    assert result.gone == [keys[3]] and result.changed == [keys[10]]
    assert requests == {"ListObjectsV2": apply.RECHECK_MAX_PAGES, "HeadObject": 2}


@pytest.mark.parametrize("code", ["404", "NoSuchKey", "NotFound"])
def test_every_spelling_of_not_found_on_head_is_gone(world: World, code: str) -> None:
    from botocore.exceptions import ClientError

    keys = [f"models/k{i:02d}" for i in range(8)]
    for key in keys:
        world.put(key)
    batch = listed(world, [keys[0], keys[7]])
    small_pages(world, 1)

    def not_found(**_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": "x"}}, "HeadObject")

    world.s3.meta.events.register("before-call.s3.HeadObject", not_found)
    result = ApplyResult()
    _recheck(world.s3, BUCKET, batch, result)
    assert result.gone == [keys[7]] and result.failed == []


def test_a_failed_head_is_named_and_the_next_key_still_checked(world: World) -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError

    keys = [f"models/k{i:02d}" for i in range(8)]
    for key in keys:
        world.put(key)
    batch = listed(world, [keys[0], keys[5], keys[6], keys[7]])
    small_pages(world, 1)
    answers = iter(
        [
            ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "HeadObject"),
            EndpointConnectionError(endpoint_url="https://s3.example"),
        ]
    )

    def fail_twice(**_: Any) -> None:
        error = next(answers, None)
        if error is not None:
            raise error

    world.s3.meta.events.register("before-call.s3.HeadObject", fail_twice)
    result = ApplyResult()
    unchanged = _recheck(world.s3, BUCKET, batch, result)
    assert [c.obj.key for c in unchanged] == [keys[0], keys[7]]
    assert result.failed == [
        (keys[5], "re-check failed: AccessDenied: Access Denied"),
        (keys[6], 're-check failed: Could not connect to the endpoint URL: "https://s3.example"'),
    ]
