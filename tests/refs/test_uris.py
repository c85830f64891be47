"""Every reference spelling, and what it may mean."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from artifact_gc.errors import ReferenceParseError
from artifact_gc.refs.reachability import ReferenceSet
from artifact_gc.refs.uris import Location, analyse_reference, parse_reference

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


# ----------------------------------------------------------------------------------- real-world spellings

CORPUS = yaml.safe_load((Path(__file__).parent / "data" / "reference_spellings.yaml").read_text("utf-8"))


@pytest.mark.parametrize("case", CORPUS, ids=[c["ref"][:70] for c in CORPUS])
def test_real_world_spelling(case: dict) -> None:
    """Each documented spelling means what its documentation says, or is refused naming itself."""
    if "refuse" in case:
        with pytest.raises(ReferenceParseError) as refused:
            parse_reference(case["ref"], B)
        assert case["refuse"] in str(refused.value) and case["ref"] in str(refused.value)
        return
    locations = parse_reference(case["ref"], B)
    if "other_bucket" in case:
        assert {loc.bucket for loc in locations} == {case["other_bucket"]}
        return
    refs = ReferenceSet.from_locations(locations, B)
    for key in case.get("protects", ()):
        assert refs.protects(key), f"{case['ref']} must protect {key} ({case['source']})"
    for key in case.get("not_protects", ()):
        assert not refs.protects(key), f"{case['ref']} must not protect {key}"


@pytest.mark.parametrize(
    "ref",
    [
        "runs:/abc/model",
        "models:/name/1",
        "models:/name@alias",
        "mlflow-artifacts:/1/abc/artifacts/model",
        "dbfs:/x",
        "hdfs://nn/x",
        "C:\\models\\x",
        "x-y.z+w:anything",
    ],
)
def test_any_uri_scheme_is_refused_not_read_as_a_bare_key(ref: str) -> None:
    with pytest.raises(ReferenceParseError, match=r"scheme|malformed"):
        parse_reference(ref, B)


def test_a_colon_after_the_first_slash_is_a_key() -> None:
    assert Location(B, "models/run:1/w") in parse_reference("models/run:1/w", B)


def test_access_points_protect_their_bucket_when_mapped() -> None:
    mapping = {
        "my-ap-abc-s3alias": B,
        "arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap": B,
        "my-ap-123456789012.s3-accesspoint.us-west-2.amazonaws.com": B,
        "mfzwi23gnjvgw.mrap": B,
    }
    for ref in (
        "s3://my-ap-abc-s3alias/models/a/",
        "arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap/object/models/a/",
        "https://my-ap-123456789012.s3-accesspoint.us-west-2.amazonaws.com/models/a/",
        "https://mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com/models/a/",
    ):
        assert Location(B, "models/a/") in parse_reference(ref, B, access_points=mapping), ref
    # an unmapped access point is refused, never counted as "another bucket"
    with pytest.raises(ReferenceParseError, match="--access-point"):
        parse_reference("s3://other-ap-s3alias/models/a", B, access_points=mapping)


def test_glob_widening_is_reported() -> None:
    assert analyse_reference("s3a://ml-artifacts/models/{v1,v2}/", B).glob_widened
    assert not analyse_reference("s3a://ml-artifacts/models/v1/", B).glob_widened


def test_a_byte_order_mark_before_a_reference_is_ambiguous() -> None:
    got = parse_reference("\ufeffs3://ml-artifacts/models/a/", B)
    assert Location(B, "models/a/") in got


# ------------------------------------------------------------------------------------------- properties

KEY_TEXT = st.lists(
    st.sampled_from([*"ab/.-_ +%*?[{}]#\u00e9", "e\u0301", "%2B", "%20", "..", "//"]), min_size=1, max_size=12
).map("".join)


@given(KEY_TEXT)
@settings(max_examples=300, deadline=None)
def test_every_reading_keeps_the_literal_key(key: str) -> None:
    """Whatever the spelling does, the key exactly as written stays protected (the readings only add)."""
    for ref in (f"s3://{B}/{key}", f"s3a://{B}/{key}"):
        refs = ReferenceSet.from_locations(parse_reference(ref, B), B)
        assert refs.protects(key), ref


@given(KEY_TEXT)
@settings(max_examples=300, deadline=None)
def test_a_url_protects_what_an_http_client_fetches(key: str) -> None:
    """Independent oracle: the key an HTTP client requests is the RFC 3986 dot-resolved, percent-decoded
    path, which posixpath + urllib compute without our code."""
    url = f"https://{B}.s3.us-east-1.amazonaws.com/{key}"
    path = urlsplit(url).path  # what the client sends, before dot removal
    segments: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            segments = segments[:-1]
        elif segment != ".":
            segments.append(segment)
    if path.split("/")[-1] in (".", ".."):
        segments.append("")
    fetched = unquote("/".join(segments))
    refs = ReferenceSet.from_locations(parse_reference(url, B), B)
    assert refs.protects(fetched), (url, fetched)


def test_an_arn_without_a_key_means_the_whole_bucket() -> None:
    assert parse_reference("arn:aws:s3:::ml-artifacts", B) == {Location(B, "")}
    mapped = {"arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap": B}
    assert parse_reference(
        "arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap", B, access_points=mapped
    ) == {Location(B, "")}
    assert parse_reference("s3://arn:aws:s3:::ml-artifacts/models/a", B) == {Location(B, "models/a")}


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        ("https://ml-artifacts.s3.amazonaws.com:99999/k", "is not a valid URL"),
        ("https://s3.amazonaws.com/", "path-style URL without a bucket"),
        ("https://example.com/models/a", "pass --endpoint-url"),
        (
            "https://my-ap-1.s3-accesspoint.us-east-1.amazonaws.com/k",
            "my-ap-1.s3-accesspoint.us-east-1.amazonaws.com",
        ),
        ("arn:aws:s3:::", "is not an S3 object ARN"),
        ("s3:///models/a", "names no bucket"),
    ],
)
def test_every_refusal_names_the_reference_and_why(ref: str, says: str) -> None:
    with pytest.raises(ReferenceParseError) as refused:
        parse_reference(ref, B)
    assert says in str(refused.value) and repr(ref) in str(refused.value)


def test_a_mapped_access_point_host_with_a_port() -> None:
    mapped = {"my-ap-1.s3-accesspoint.us-east-1.amazonaws.com": B}
    url = "https://my-ap-1.s3-accesspoint.us-east-1.amazonaws.com:443/models/a"
    assert Location(B, "models/a") in parse_reference(url, B, access_points=mapped)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        # the first split of the host is not a bucket name, a longer one is: every split is tried
        ("https://a-.b.s3.amazonaws.com/k", {Location("a-.b", "k")}),
        # directory buckets (S3 Express) keep their --x-s3 suffix whatever the name rules say
        ("https://bad_--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com/k", {Location("bad_--x-s3", "k")}),
        # a custom endpoint, with and without a port
        ("https://minio.box/ml-artifacts/k", {Location(B, "k")}),
        ("http://minio.box:9000/ml-artifacts/k", {Location(B, "k")}),
        ("/X1/a", {Location(B, "/X1/a"), Location(B, "X1/a")}),
    ],
)
def test_hosts_and_bare_keys_at_the_edges(ref: str, expected: set[Location]) -> None:
    assert parse_reference(ref, B, frozenset({"minio.box", "minio.box:9000"})) == expected


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (
            "https:///models/a",
            "reference 'https:///models/a' is a URL whose host '' is not an S3 endpoint "
            "(pass --endpoint-url for a custom S3 endpoint)",
        ),
        (
            "https://a_b.s3.amazonaws.com/k",
            "reference 'https://a_b.s3.amazonaws.com/k' is a URL whose host 'a_b.s3.amazonaws.com' is not an S3 "
            "endpoint (pass --endpoint-url for a custom S3 endpoint)",
        ),
        (
            "https://mybox.x/models/a",
            "reference 'https://mybox.x/models/a' is a URL whose host 'mybox.x' is not an S3 endpoint "
            "(pass --endpoint-url for a custom S3 endpoint)",
        ),
        (
            "https://ap-123456789012.s3-accesspoint.us-east-1.amazonaws.com/k",
            "reference 'https://ap-123456789012.s3-accesspoint.us-east-1.amazonaws.com/k' goes through the S3 "
            "access point 'ap-123456789012.s3-accesspoint.us-east-1.amazonaws.com', which cannot be mapped to a "
            "bucket offline: pass --access-point ap-123456789012.s3-accesspoint.us-east-1.amazonaws.com=BUCKET "
            "(or gc_config.access_points) if it serves this bucket",
        ),
        (
            "arn:aws:s3:::my-ap-s3alias/k",
            "reference 'arn:aws:s3:::my-ap-s3alias/k' goes through the S3 access point 'my-ap-s3alias', which "
            "cannot be mapped to a bucket offline: pass --access-point my-ap-s3alias=BUCKET "
            "(or gc_config.access_points) if it serves this bucket",
        ),
        (
            "arn:aws:s3:us-east-1:123456789012:accesspoint/reports/object/k",
            "reference 'arn:aws:s3:us-east-1:123456789012:accesspoint/reports/object/k' goes through the S3 "
            "access point 'arn:aws:s3:us-east-1:123456789012:accesspoint/reports', which cannot be mapped to a "
            "bucket offline: pass --access-point arn:aws:s3:us-east-1:123456789012:accesspoint/reports=BUCKET "
            "(or gc_config.access_points) if it serves this bucket",
        ),
        (
            "https://my-ap-s3alias.s3.us-east-1.amazonaws.com/k",
            "reference 'https://my-ap-s3alias.s3.us-east-1.amazonaws.com/k' goes through the S3 access point "
            "'my-ap-s3alias', which cannot be mapped to a bucket offline: pass --access-point my-ap-s3alias=BUCKET "
            "(or gc_config.access_points) if it serves this bucket",
        ),
    ],
)
def test_refusals_name_the_reference_and_the_way_out(ref: str, message: str) -> None:
    with pytest.raises(ReferenceParseError) as caught:
        parse_reference(ref, B)
    assert str(caught.value) == message


def test_an_access_point_host_maps_by_its_alias_label() -> None:
    host = "https://reports-abc.s3-accesspoint.us-east-1.amazonaws.com/k"
    assert parse_reference(host, B, access_points={"reports-abc": B}) == {Location(B, "k")}


def test_a_privatelink_url_keeps_both_readings() -> None:
    """The boto3 guide writes the interface endpoint host with a literal `bucket.` label: read path-style
    (the bucket in the path) and as that first label; each reading protects."""
    url = "https://bucket.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com/ml-artifacts/k"
    assert parse_reference(url, B) == {Location(B, "k"), Location("bucket", "ml-artifacts/k")}
