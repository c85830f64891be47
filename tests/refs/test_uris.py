"""Every reference spelling, and what it may mean."""

from __future__ import annotations

import pytest

from artifact_gc.errors import ReferenceParseError
from artifact_gc.refs.uris import Location, parse_reference

B = "ml-artifacts"


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("s3://ml-artifacts/models/a/v3/", {Location(B, "models/a/v3/")}),
        ("s3://ml-artifacts/models/a/v3", {Location(B, "models/a/v3")}),
        ("s3a://ml-artifacts/models/a/v3", {Location(B, "models/a/v3")}),
        ("s3n://ml-artifacts/models/a/v3", {Location(B, "models/a/v3")}),
        ("S3://ML-Artifacts/models/a", {Location(B, "models/a")}),  # bucket names are DNS names
        ("models/a/v3", {Location(B, "models/a/v3")}),  # bare key: the configured bucket
        ("/models/a/v3", {Location(B, "/models/a/v3"), Location(B, "models/a/v3")}),
        ("s3://ml-artifacts", {Location(B, "")}),  # the whole bucket
        ("s3://ml-artifacts/", {Location(B, "")}),
        ("s3://other-bucket/x/y", {Location("other-bucket", "x/y")}),
        # percent signs in s3:// may or may not be encoding: both readings
        ("s3://ml-artifacts/a%20b/c", {Location(B, "a%20b/c"), Location(B, "a b/c")}),
        # virtual-hosted URLs, with and without region, and dualstack
        ("https://ml-artifacts.s3.amazonaws.com/models/a/v3/", {Location(B, "models/a/v3/")}),
        (
            "https://ml-artifacts.s3.eu-west-1.amazonaws.com/models/a%20b",
            {Location(B, "models/a b"), Location(B, "models/a%20b")},
        ),
        ("https://ml-artifacts.s3-eu-west-1.amazonaws.com/k", {Location(B, "k")}),
        ("https://ml-artifacts.s3.dualstack.us-east-1.amazonaws.com/k", {Location(B, "k")}),
        ("https://my.dotted.bucket.s3.amazonaws.com/k", {Location("my.dotted.bucket", "k")}),
        # path-style URLs
        ("https://s3.amazonaws.com/ml-artifacts/models/a", {Location(B, "models/a")}),
        (
            "https://s3.us-west-2.amazonaws.com/ml-artifacts/models/a%2Bb",
            {Location(B, "models/a+b"), Location(B, "models/a%2Bb")},
        ),
        ("http://s3-us-west-2.amazonaws.com/ml-artifacts/k?versionId=3", {Location(B, "k")}),
        ("https://ml-artifacts.s3.amazonaws.com/k?X-Amz-Signature=abc#frag", {Location(B, "k")}),
        ("arn:aws:s3:::ml-artifacts/models/a", {Location(B, "models/a")}),
        ("  s3://ml-artifacts/models/a\n", {Location(B, "models/a")}),  # pasted with white space
    ],
)
def test_spellings(ref: str, expected: set[Location]) -> None:
    got = parse_reference(ref, B)
    assert expected <= got
    assert all(loc.bucket in (B, "other-bucket", "my.dotted.bucket") for loc in got)


def test_surrounding_whitespace_protects_both_readings() -> None:
    got = parse_reference(" models/a ", B)
    assert Location(B, "models/a") in got
    assert Location(B, " models/a ") in got


def test_custom_endpoint_is_read_path_style() -> None:
    got = parse_reference("http://127.0.0.1:5000/ml-artifacts/models/a", B, frozenset({"127.0.0.1:5000"}))
    assert got == {Location(B, "models/a")}


@pytest.mark.parametrize(
    "ref",
    [
        "",
        "   ",
        "gs://ml-artifacts/models/a",
        "file:///tmp/model",
        "s3:/ml-artifacts/models/a",  # a typo would otherwise protect nothing
        "https:/ml-artifacts.s3.amazonaws.com/k",
        "s3:///models/a",  # no bucket
        "https://example.com/models/a",  # not an S3 host
        "https://s3.amazonaws.com/",  # path-style without bucket
        "arn:aws:s3:us-east-1:123:accesspoint/ap",
        42,
        None,
    ],
)
def test_unparseable_references_raise(ref: object) -> None:
    with pytest.raises(ReferenceParseError):
        parse_reference(ref, B)
