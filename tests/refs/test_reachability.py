"""ReferenceSet: the reachability rule of ARCHITECTURE.md, by table and by property."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artifact_gc import Match, ReferenceSet
from artifact_gc.collect.mark import KeepRules, MarkStats, mark
from artifact_gc.collect.object_info import ObjectInfo

B = "ml-artifacts"

# (reference, keys it must protect, keys it must not protect)
TABLE = [
    (
        "s3://ml-artifacts/models/a/v3/",
        [
            "models/a/v3",
            "models/a/v3/weights.bin",
            "models/a/v3.tar.gz",
            "models/a/v30/x",
            "models/a/v3/sub/deep.pt",
        ],
        ["models/a/v2/weights.bin", "models/a/v", "models/a", "models/b/v3/weights.bin", "Models/a/v3/x"],
    ),
    (
        "s3://ml-artifacts/models/a/v3",
        ["models/a/v3", "models/a/v3/weights.bin", "models/a/v3.tar.gz", "models/a/v30/x"],
        ["models/a/v2", "models/a/"],
    ),
    ("s3a://ml-artifacts/models/a/v1", ["models/a/v1/x", "models/a/v10/x"], ["models/a/v2/x"]),
    (
        "s3n://ml-artifacts/ckpt/run-1/step-1000/",
        ["ckpt/run-1/step-1000/shard-0.pt"],
        ["ckpt/run-1/step-2000/shard-0.pt"],
    ),
    ("models/bare/v1/", ["models/bare/v1/model.bin"], ["models/bare/v2/model.bin"]),
    (
        "https://ml-artifacts.s3.us-east-1.amazonaws.com/models/url%20enc/v1/",
        ["models/url enc/v1/m.bin", "models/url%20enc/v1/m.bin"],
        ["models/url/v1/m.bin"],
    ),
    (
        "https://s3.amazonaws.com/ml-artifacts/models/path-style/v2",
        ["models/path-style/v2/m"],
        ["models/path-style/v1/m"],
    ),
    ("s3://ml-artifacts/models/p%2Bq/v1", ["models/p%2Bq/v1/m", "models/p+q/v1/m"], ["models/pq/v1/m"]),
    (
        "s3://ml-artifacts/models/exact/file.bin",
        ["models/exact/file.bin", "models/exact/file.bin.sha256"],
        ["models/exact/file.bi"],
    ),
    ("s3://other-bucket/models/a/v3/", [], ["models/a/v3/weights.bin"]),
]


@pytest.mark.parametrize(("ref", "protected", "unprotected"), TABLE)
def test_reference_table(ref: str, protected: list[str], unprotected: list[str]) -> None:
    refs = ReferenceSet.from_uris([ref], B)
    for key in protected:
        assert refs.protects(key), f"{ref} must protect {key}"
    for key in unprotected:
        assert not refs.protects(key), f"{ref} must not protect {key}"


def test_whole_bucket_reference_protects_everything() -> None:
    refs = ReferenceSet.from_uris(["s3://ml-artifacts/", "s3://ml-artifacts/models/a"], B)
    assert refs.protects_whole_bucket
    assert refs.protects("anything/at/all") and refs.protects("")


def test_other_buckets_are_counted_not_applied() -> None:
    refs = ReferenceSet.from_uris(["s3://other/a", "s3://other/b", "s3://third/c", "s3://ml-artifacts/x"], B)
    assert refs.other_buckets == {"other": 2, "third": 1}
    assert refs.reference_count == 1
    assert not refs.protects("a") and refs.protects("x/y")


def test_match_classifies_folder_and_mid_name_matches() -> None:
    refs = ReferenceSet.from_uris(["models/a/v1", "models/a/v10/", "models/b/v1/"], B)
    assert refs.match("models/a/v1/x") is Match.FOLDER
    assert refs.match("models/a/v1") is Match.FOLDER
    assert refs.match("models/a/v10/x") is Match.FOLDER  # v10 is registered itself
    assert refs.match("models/a/v11/x") is Match.NON_FOLDER  # kept only because "v1" matches mid-name
    assert refs.match("models/a/v1.tar.gz") is Match.NON_FOLDER
    assert refs.match("models/b/v10/x") is Match.NON_FOLDER
    assert refs.match("models/c") is Match.NONE


def test_fingerprint_ignores_spelling_and_order_but_not_content() -> None:
    one = ReferenceSet.from_uris(["s3://ml-artifacts/a/", "b"], B)
    two = ReferenceSet.from_uris(["b/", "s3a://ml-artifacts/a"], B)
    three = ReferenceSet.from_uris(["b", "c"], B)
    assert one.fingerprint == two.fingerprint != three.fingerprint


# ------------------------------------------------------------------------------------------ properties

segment = st.sampled_from(
    ["models", "a", "v1", "v10", "v1.tar.gz", "ü", "x y", "p%20q", "p q", "step-1000", ""]
)
keys_st = st.lists(segment, min_size=1, max_size=4).map("/".join)
spelling = st.sampled_from(
    [
        "s3://ml-artifacts/{}",
        "s3a://ml-artifacts/{}",
        "{}",
        "{}/",
        "s3://ml-artifacts/{}//",
        "https://ml-artifacts.s3.amazonaws.com/{}",
        "s3://other/{}",
    ]
)


def meanings(template: str, key: str) -> set[tuple[str, str]]:
    """What the writer of ``template.format(key)`` meant, worked out from the template itself, without the
    parser under test: the key as written, its percent-decoded reading where an s3:// key holds '%', and
    the raw text of a URL path, and the NFC and NFD spellings of each (the readings the README documents)."""
    if template.startswith("s3://other/"):
        return {("other", key)}
    literal = template.replace("s3://ml-artifacts/", "").replace("s3a://ml-artifacts/", "")
    literal = literal.replace("https://ml-artifacts.s3.amazonaws.com/", "").format(key)
    readings = {literal}
    if template.startswith("https"):
        readings.add(quote(literal))  # the URL text itself, as a writer that forgot to decode meant it
    if template.startswith("s3") and "%" in key:
        readings.add(unquote(literal))
    readings |= {re.sub("/{2,}", "/", r) for r in readings}  # doubled slashes, as Hadoop reads them
    readings |= {unicodedata.normalize(form, r) for r in readings for form in ("NFC", "NFD")}
    return {(B, r) for r in readings}


def oracle(key: str, refs: list[tuple[str, str]]) -> bool:
    """The rule written as naively as possible: protected when some meaning is a prefix after stripping '/'."""
    return any(
        bucket == B and key.startswith(meant.rstrip("/"))
        for template, raw in refs
        for bucket, meant in meanings(template, raw)
    )


def spelled(refs: list[tuple[str, str]]) -> list[str]:
    return [template.format(quote(raw) if template.startswith("https") else raw) for template, raw in refs]


@st.composite
def registry(draw: st.DrawFn) -> list[tuple[str, str]]:
    refs = []
    for _ in range(draw(st.integers(0, 6))):
        key = draw(keys_st).strip("/") or "models"
        refs.append((draw(spelling), key))
    return refs


@settings(max_examples=300, deadline=None)
@given(refs=registry(), keys=st.lists(keys_st, max_size=30))
def test_protects_agrees_with_the_naive_rule(refs: list[str], keys: list[str]) -> None:
    reference_set = ReferenceSet.from_uris(spelled(refs), B)
    for key in keys:
        assert reference_set.protects(key) == oracle(key, refs), (spelled(refs), key)


@settings(max_examples=200, deadline=None)
@given(
    refs=registry(),
    keys=st.lists(keys_st, max_size=40, unique=True),
    ages=st.lists(st.integers(0, 30), min_size=40, max_size=40),
)
def test_no_protected_key_is_ever_a_candidate(refs: list[str], keys: list[str], ages: list[int]) -> None:
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    cutoff = now - timedelta(days=7)
    objects = [
        ObjectInfo(k, 1, now - timedelta(days=age), '"e"') for k, age in zip(sorted(keys), ages, strict=False)
    ]
    reference_set = ReferenceSet.from_uris(spelled(refs), B)
    stats = MarkStats()
    candidates = mark(objects, reference_set, cutoff, KeepRules(), stats)
    for obj in candidates:
        assert not oracle(obj.key, refs)
        assert obj.last_modified < cutoff
    # and nothing unprotected and old is missed
    expected = {o.key for o in objects if not oracle(o.key, refs) and o.last_modified < cutoff}
    assert {o.key for o in candidates} == expected
    assert stats.objects == len(objects)
    assert stats.protected + stats.too_young + stats.kept_by_glob + len(candidates) == len(objects)


def test_from_uris_counts_references_not_readings_and_reads_endpoint_hosts() -> None:
    refs = ReferenceSet.from_uris(["s3://ml-artifacts/a%20b/", "models/x", "s3://other/y"], B)
    assert refs.reference_count == 2  # two references into the bucket, though the first has two readings
    assert len(refs.all_keys) == 3
    local = ReferenceSet.from_uris(
        ["http://127.0.0.1:9000/ml-artifacts/models/a"], B, frozenset({"127.0.0.1:9000"})
    )
    assert local.protects("models/a/w.bin")


def test_a_longer_reference_at_a_deeper_folder_boundary_is_a_folder_match() -> None:
    from artifact_gc.refs.reachability import Match, ReferenceSet

    refs = ReferenceSet.from_uris(["models/v1", "models/v10/a"], "b")
    assert refs.match("models/v10/a/b/c") is Match.FOLDER
    assert refs.match("models/v10/b/c") is Match.NON_FOLDER
    refs = ReferenceSet.from_uris(["models/v1", "models/v10"], "b")
    assert refs.match("models/v10/a/b") is Match.FOLDER
