"""Registry sources against moto: every value shape, pagination, segments, filters, and failing closed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from artifact_gc.errors import ReferenceParseError, RegistryError, SafetyError, UsageError
from artifact_gc.registry.sources import (
    DynamoDbSource,
    ManifestSource,
    SkipRule,
    collect_references,
    source_from_spec,
)

from conftest import BUCKET, TABLE, World


def refs_of(source) -> list[str]:
    return sorted(ref.value for ref in source.references())


def test_dynamodb_reads_strings_lists_and_sets_and_skips_nulls(world: World) -> None:
    world.register("s3://ml-artifacts-test/a/")
    world.register(["b/1", "b/2"])
    world.ddb.put_item(
        TableName=TABLE,
        Item={"model_id": {"S": "set"}, "version": {"N": "1"}, "s3_path": {"SS": ["c/1", "c/2"]}},
    )
    world.ddb.put_item(
        TableName=TABLE, Item={"model_id": {"S": "null"}, "version": {"N": "1"}, "s3_path": {"NULL": True}}
    )
    world.ddb.put_item(TableName=TABLE, Item={"model_id": {"S": "none"}, "version": {"N": "1"}})
    source = DynamoDbSource(world.ddb, TABLE)
    assert refs_of(source) == ["b/1", "b/2", "c/1", "c/2", "s3://ml-artifacts-test/a/"]
    assert source.rows_read == 5


def test_dynamodb_reads_every_page_and_every_segment(world: World) -> None:
    for i in range(57):
        world.register(f"models/m{i:02d}/")
    expected = sorted(f"models/m{i:02d}/" for i in range(57))
    assert refs_of(DynamoDbSource(world.ddb, TABLE, page_size=5)) == expected
    assert refs_of(DynamoDbSource(world.ddb, TABLE, segments=4, page_size=3)) == expected


def test_dynamodb_several_path_attributes(world: World) -> None:
    world.ddb.put_item(
        TableName=TABLE,
        Item={
            "model_id": {"S": "m"},
            "version": {"N": "1"},
            "s3_path": {"S": "a/"},
            "weights_uri": {"S": "w/"},
        },
    )
    assert refs_of(DynamoDbSource(world.ddb, TABLE, ("s3_path", "weights_uri"))) == ["a/", "w/"]
    assert refs_of(DynamoDbSource(world.ddb, TABLE, ("weights_uri",))) == ["w/"]


def test_skip_where_is_opt_in(world: World) -> None:
    world.register("live/", status="active")
    world.register("dead/", status="deleted")
    assert refs_of(DynamoDbSource(world.ddb, TABLE)) == ["dead/", "live/"]
    source = DynamoDbSource(world.ddb, TABLE, skip_where=(SkipRule.parse("status=deleted"),))
    assert refs_of(source) == ["live/"]
    assert source.rows_skipped == 1


def test_skip_rule_syntax() -> None:
    assert SkipRule.parse("status=deleted") == SkipRule("status", "deleted")
    assert str(SkipRule.parse(" a = b")) == "a= b"
    with pytest.raises(UsageError):
        SkipRule.parse("status")


@pytest.mark.parametrize(
    "value", [{"N": "3"}, {"M": {"x": {"S": "y"}}}, {"L": [{"S": "ok"}, {"N": "1"}]}, {"B": b"x"}]
)
def test_dynamodb_values_of_other_types_fail_closed(world: World, value: dict) -> None:
    world.ddb.put_item(
        TableName=TABLE, Item={"model_id": {"S": "bad"}, "version": {"N": "7"}, "s3_path": value}
    )
    with pytest.raises(ReferenceParseError, match=r"model_id=bad, version=7"):
        refs_of(DynamoDbSource(world.ddb, TABLE))


def test_missing_table_is_a_registry_error(world: World) -> None:
    with pytest.raises(RegistryError, match="no-such-table"):
        refs_of(DynamoDbSource(world.ddb, "no-such-table"))


def test_a_scan_failing_on_a_later_page_fails_the_whole_source(world: World) -> None:
    """Inject a failure on the third Scan request through botocore's event system."""
    from botocore.exceptions import ClientError

    for i in range(20):
        world.register(f"models/m{i}/")
    calls = {"n": 0}

    def fail_third_page(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "denied"}}, "Scan")

    world.ddb.meta.events.register("before-call.dynamodb.Scan", fail_third_page)
    with pytest.raises(RegistryError, match=r"could not be scanned completely.*AccessDeniedException"):
        refs_of(DynamoDbSource(world.ddb, TABLE, page_size=5))


# --------------------------------------------------------------------------------------------- manifests


def test_manifest_formats(tmp_path: Path, world: World) -> None:
    (tmp_path / "m.json").write_text(json.dumps(["a/", {"s3_path": "b/"}, {"s3_path": ["c/", "d/"]}]))
    (tmp_path / "m.yaml").write_text("- a/\n- s3_path: s3://ml-artifacts-test/b/\n")
    (tmp_path / "m.txt").write_text("# comment\na/\n\n  b/\n")
    assert refs_of(ManifestSource(str(tmp_path / "m.json"))) == ["a/", "b/", "c/", "d/"]
    assert refs_of(ManifestSource(str(tmp_path / "m.yaml"))) == ["a/", "s3://ml-artifacts-test/b/"]
    assert refs_of(ManifestSource(str(tmp_path / "m.txt"))) == ["  b/", "a/"]


def test_manifest_from_s3(world: World) -> None:
    world.s3.put_object(Bucket=BUCKET, Key="registry/manifest.json", Body=json.dumps(["models/x/"]).encode())
    assert refs_of(ManifestSource(f"s3://{BUCKET}/registry/manifest.json", s3_client=world.s3)) == [
        "models/x/"
    ]
    with pytest.raises(RegistryError, match="cannot be read"):
        refs_of(ManifestSource(f"s3://{BUCKET}/registry/missing.json", s3_client=world.s3))


@pytest.mark.parametrize(
    ("name", "content", "error", "message"),
    [
        ("m.json", "{not json", RegistryError, "not valid JSON"),
        ("m.yaml", "a: [", RegistryError, "not valid YAML"),
        ("m.json", '{"a": 1}', RegistryError, "must hold a list"),
        ("m.json", '[{"uri": "x"}]', ReferenceParseError, "entry 0 has none of the path attributes"),
    ],
)
def test_bad_manifests_fail_closed(
    tmp_path: Path, name: str, content: str, error: type, message: str
) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(error, match=message):
        refs_of(ManifestSource(str(tmp_path / name)))


def test_missing_or_binary_manifest(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="cannot be read"):
        refs_of(ManifestSource(str(tmp_path / "nope.txt")))
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00")  # a UTF-16 mark, then half a character
    with pytest.raises(RegistryError, match="not UTF-16-LE text"):
        refs_of(ManifestSource(str(tmp_path / "bin.txt")))
    (tmp_path / "latin1.txt").write_bytes(b"models/caf\xe9/\n")
    with pytest.raises(RegistryError, match="not UTF-8 text"):
        refs_of(ManifestSource(str(tmp_path / "latin1.txt")))
    (tmp_path / "nul.txt").write_bytes(b"models/a/\x00\n")
    with pytest.raises(RegistryError, match="NUL bytes"):
        refs_of(ManifestSource(str(tmp_path / "nul.txt")))


# -------------------------------------------------------------------------------------------- collection


def test_collect_unions_sources_and_counts_each(tmp_path: Path, world: World) -> None:
    world.register("models/a/")
    (tmp_path / "m.txt").write_text("models/b/\ns3://elsewhere/x\n")
    sources = [DynamoDbSource(world.ddb, TABLE), ManifestSource(str(tmp_path / "m.txt"))]
    snapshot = collect_references(sources, BUCKET)
    assert snapshot.refs.protects("models/a/x") and snapshot.refs.protects("models/b/y")
    assert snapshot.per_source == {f"dynamodb:{TABLE}": 1, f"manifest:{tmp_path / 'm.txt'}": 2}
    assert snapshot.refs.other_buckets == {"elsewhere": 1}
    header = snapshot.header(sources)
    rebuilt = [source_from_spec(spec, world.ddb, world.s3) for spec in header["sources"]]
    assert [s.spec() for s in rebuilt] == header["sources"]


def test_collect_refuses_an_empty_registry(world: World, tmp_path: Path) -> None:
    (tmp_path / "m.txt").write_text("s3://elsewhere/x\n")
    with pytest.raises(SafetyError, match="no references to bucket"):
        collect_references(
            [DynamoDbSource(world.ddb, TABLE), ManifestSource(str(tmp_path / "m.txt"))], BUCKET
        )
    snapshot = collect_references([DynamoDbSource(world.ddb, TABLE)], BUCKET, allow_empty=True)
    assert snapshot.refs.is_empty


def test_collect_names_the_row_of_an_unparseable_reference(world: World) -> None:
    world.register("gs://wrong-cloud/model", model_id="bert")
    with pytest.raises(
        ReferenceParseError, match=r"dynamodb:model-registry-test row \{model_id=bert, version=1\}"
    ):
        collect_references([DynamoDbSource(world.ddb, TABLE)], BUCKET)


def test_collect_without_sources_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no registry source"):
        collect_references([], BUCKET)


def test_a_path_attribute_no_row_has_names_the_attributes_seen(world: World) -> None:
    world.register("models/a/")
    source = DynamoDbSource(world.ddb, TABLE, ("artifact_uri",))
    with pytest.raises(SafetyError) as refused:
        collect_references([source], BUCKET)
    message = str(refused.value)
    assert "has 1 rows but none holds ['artifact_uri']" in message
    assert "'s3_path'" in message and "'model_id'" in message
