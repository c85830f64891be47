"""The inventory manifest reader: AWS's documented examples, and anything else refused as exit 3."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from artifact_gc.errors import SafetyError
from artifact_gc.objects.inventory_manifest import (
    check_delivery,
    newest_first,
    parse_manifest,
    schema_columns,
)

CASES = yaml.safe_load((Path(__file__).parent / "data" / "inventory_manifests.yaml").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["label"] for c in CASES])
def test_documented_manifests(case: dict) -> None:
    if case["accept"]:
        manifest = parse_manifest(case["manifest"], "m.json")
        assert manifest.file_format == case["format"]
        assert list(manifest.columns) == case["columns"]
        assert manifest.created_at == datetime(2018, 1, 3, 2, 0, tzinfo=timezone.utc)
        assert manifest.destination_bucket.startswith("example-")
    else:
        with pytest.raises(SafetyError) as caught:
            parse_manifest(case["manifest"], "m.json")
        assert case["reason"] in str(caught.value)
        assert str(caught.value).startswith("inventory manifest m.json: ")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=20,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "sourceBucket": JSON,
        "destinationBucket": JSON | st.just("arn:aws:s3:::dest"),
        "creationTimestamp": JSON | st.just("1514944800000"),
        "fileFormat": JSON | st.sampled_from(["CSV", "ORC", "Parquet", "parquet"]),
        "fileSchema": JSON
        | st.sampled_from(["Bucket, Key, Size, LastModifiedDate, ETag", "struct<key:string>"]),
        "files": JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(document=JSON | FIELDS)
def test_any_document_is_a_manifest_or_a_named_refusal(document: object) -> None:
    try:
        manifest = parse_manifest(document, "m.json")
    except SafetyError as exc:
        assert str(exc).startswith("inventory manifest m.json: ")
        assert "\n" not in str(exc)
    else:
        assert {"key", "size", "last_modified_date", "e_tag"} <= set(manifest.columns)
        assert manifest.files


def test_freshness_and_source_bucket() -> None:
    manifest = parse_manifest(CASES[0]["manifest"], "m.json")
    created = manifest.created_at
    check_delivery(manifest, "m.json", "example-source-bucket", created + timedelta(hours=48), 48 * 3600)
    with pytest.raises(SafetyError, match="more than --max-inventory-age 48 h"):
        check_delivery(manifest, "m.json", "example-source-bucket", created + timedelta(hours=49), 48 * 3600)
    with pytest.raises(SafetyError, match="describes bucket 'example-source-bucket', not 'other'"):
        check_delivery(manifest, "m.json", "other", created, 48 * 3600)
    with pytest.raises(SafetyError, match="in the future"):
        check_delivery(manifest, "m.json", "example-source-bucket", created - timedelta(hours=1), 48 * 3600)


def test_schema_spellings() -> None:
    assert schema_columns("CSV", "Bucket, Key, LastModifiedDate, ETag, ChecksumAlgorithm") == (
        "bucket",
        "key",
        "last_modified_date",
        "e_tag",
        "checksum_algorithm",
    )
    assert schema_columns("ORC", "struct<key:string, size:bigint>") == ("key", "size")
    assert schema_columns(
        "Parquet", "message s3.inventory { required binary key (UTF8); optional int64 size; }"
    ) == ("key", "size")
    assert schema_columns("ORC", "not a struct") == ()


def test_deliveries_newest_first_and_only_dated_folders() -> None:
    assert newest_first(["2026-01-02T00-00Z", "hive", "data", "2026-01-03T01-00Z", "2025-12-31T23-59Z"]) == [
        "2026-01-03T01-00Z",
        "2026-01-02T00-00Z",
        "2025-12-31T23-59Z",
    ]


@settings(max_examples=50, deadline=None)
@given(body=st.binary(max_size=200))
def test_random_bytes_as_a_manifest_are_refused(
    tmp_path_factory: pytest.TempPathFactory, body: bytes
) -> None:
    import hashlib

    from artifact_gc.objects.inventory import find_delivery

    folder = tmp_path_factory.mktemp("delivery")
    (folder / "manifest.json").write_bytes(body)
    (folder / "manifest.checksum").write_text(hashlib.md5(body).hexdigest())
    with pytest.raises(SafetyError) as caught:
        find_delivery(str(folder / "manifest.json"), None, "b", datetime.now(timezone.utc), 3600)
    assert str(caught.value).startswith("inventory manifest ")
