"""plan + apply against moto in-process: what is deleted, what is kept, and every interlock."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from artifact_gc.collect import apply as apply_module
from artifact_gc.collect.apply import ApplyOptions, execute_apply, prepare_apply
from artifact_gc.collect.planfile import header_digest
from artifact_gc.collect.planner import PlanOptions, raise_if_refused, run_plan
from artifact_gc.config import GcConfig
from artifact_gc.errors import ReferenceParseError, RegistryError, SafetyError, UsageError

from conftest import BUCKET, TABLE, World

CONFIG = GcConfig(bucket=BUCKET, registry_tables=(TABLE,), prefixes=("models/", "checkpoints/"))


def plan(world: World, tmp_path: Path, config: GcConfig = CONFIG, **options) -> Path:
    out = tmp_path / "plan.jsonl"
    options.setdefault("max_delete_fraction", 1.0)
    result = run_plan(config, PlanOptions(out=out, **options), world.clients(), datetime.now(timezone.utc))
    raise_if_refused(result)
    return out


def apply(world: World, plan_path: Path, restated: GcConfig = GcConfig(), **options):
    options.setdefault("max_delete_fraction", 1.0)
    opts = ApplyOptions(audit_path=plan_path.with_name("audit.jsonl"), **options)
    clients = world.clients()
    prepared = prepare_apply(plan_path, restated, opts, clients, datetime.now(timezone.utc))
    return execute_apply(prepared, clients, opts, sleep=lambda s: None)


def audit(plan_path: Path) -> list[dict]:
    path = plan_path.with_name("audit.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def seed(world: World) -> None:
    world.register("s3://ml-artifacts-test/models/keep/v1/")
    world.register("models/keep/v2")
    for key in [
        "models/keep/v1/m.bin",
        "models/keep/v2.tar.gz",
        "models/drop/v1/m.bin",
        "models/drop/v1/cfg.json",
        "checkpoints/run-1/step-100/shard-0.pt",
        "outside/scope.bin",
    ]:
        world.put(key, age_days=30)
    world.put("models/young/v1/m.bin", age_days=1)


def test_plan_then_apply_deletes_exactly_the_garbage(world: World, tmp_path: Path) -> None:
    seed(world)
    plan_path = plan(world, tmp_path)
    result = apply(world, plan_path)
    garbage = {"models/drop/v1/m.bin", "models/drop/v1/cfg.json", "checkpoints/run-1/step-100/shard-0.pt"}
    assert world.listed_keys() == {
        "models/keep/v1/m.bin",
        "models/keep/v2.tar.gz",
        "outside/scope.bin",
        "models/young/v1/m.bin",
    }
    assert result.deleted == 3 and not result.failed
    records = audit(plan_path)
    assert {r["key"] for r in records} == garbage
    assert all({"key", "version_id", "etag", "size", "time"} <= set(r) for r in records)


def test_plan_header_records_what_apply_needs(world: World, tmp_path: Path) -> None:
    seed(world)
    header = json.loads(plan(world, tmp_path).read_text().splitlines()[0])
    assert header["bucket"] == BUCKET and header["account"] == "123456789012"
    assert header["scope"]["prefixes"] == ["checkpoints/", "models/"]
    assert header["scope"]["min_age_days"] == 7
    assert header["registry"]["sources"] == [
        {"type": "dynamodb", "table": TABLE, "path_attributes": ["s3_path"], "skip_where": []}
    ]
    assert header["registry"]["fingerprint"].startswith("sha256:")
    assert header["totals"]["objects"] == 6 and header["totals"]["candidates"] == 3
    assert header["totals"]["too_young"] == 1 and header["totals"]["protected"] == 2


def test_plan_modifies_nothing(world: World, tmp_path: Path) -> None:
    seed(world)
    before = world.listed_keys()
    plan(world, tmp_path)
    assert world.listed_keys() == before


def test_keep_globs_and_min_age(world: World, tmp_path: Path) -> None:
    seed(world)
    plan_path = plan(world, tmp_path, replace(CONFIG, min_age_days=60), keep_globs=("checkpoints/*",))
    assert plan_path.read_text().count("\n") == 1  # header only: everything is younger than 60 days


def test_a_model_registered_after_the_plan_survives(world: World, tmp_path: Path) -> None:
    seed(world)
    plan_path = plan(world, tmp_path)
    world.register("s3a://ml-artifacts-test/models/drop/v1")
    result = apply(world, plan_path)
    assert {"models/drop/v1/m.bin", "models/drop/v1/cfg.json"} <= world.listed_keys()
    assert "checkpoints/run-1/step-100/shard-0.pt" not in world.listed_keys()
    assert sorted(result.newly_protected) == ["models/drop/v1/cfg.json", "models/drop/v1/m.bin"]
    assert [r["key"] for r in audit(plan_path)] == ["checkpoints/run-1/step-100/shard-0.pt"]


def test_an_object_rewritten_after_the_plan_is_kept(world: World, tmp_path: Path) -> None:
    seed(world)
    plan_path = plan(world, tmp_path)
    world.put("models/drop/v1/m.bin", age_days=30, body=b"new content")
    world.s3.delete_object(Bucket=BUCKET, Key="models/drop/v1/cfg.json")
    result = apply(world, plan_path)
    assert "models/drop/v1/m.bin" in world.listed_keys()
    assert result.changed == ["models/drop/v1/m.bin"]
    assert result.gone == ["models/drop/v1/cfg.json"]
    assert [r["key"] for r in audit(plan_path)] == ["checkpoints/run-1/step-100/shard-0.pt"]


def test_recheck_falls_back_to_head_when_the_listing_is_sparse(
    world: World, tmp_path: Path, monkeypatch
) -> None:
    """Candidates spread between many protected objects: the listing gives up and HEADs the rest."""
    world.register("models/keep/")
    for i in range(30):
        world.put(f"models/keep/{i:03d}", age_days=30)
    world.put("models/a-first", age_days=30)
    world.put("models/z-last", age_days=30)
    world.put("models/z-rewritten", age_days=30)
    plan_path = plan(world, tmp_path)
    world.put("models/z-rewritten", age_days=30, body=b"changed")
    monkeypatch.setattr(apply_module, "RECHECK_MAX_PAGES", 1)
    heads = []
    world_clients = world.clients()
    world_clients.s3.meta.events.register(
        "provide-client-params.s3.HeadObject", lambda params, **kw: heads.append(params["Key"])
    )
    world_clients.s3.meta.events.register(
        "provide-client-params.s3.ListObjectsV2", lambda params, **kw: params.update(MaxKeys=5)
    )
    opts = ApplyOptions(audit_path=tmp_path / "audit.jsonl", max_delete_fraction=1.0)
    prepared = prepare_apply(plan_path, GcConfig(), opts, world_clients, datetime.now(timezone.utc))
    result = execute_apply(prepared, world_clients, opts)
    assert sorted(heads) == ["models/z-last", "models/z-rewritten"]
    assert result.changed == ["models/z-rewritten"]
    assert world.listed_keys() & {"models/a-first", "models/z-last"} == set()
    assert "models/z-rewritten" in world.listed_keys()


def test_apply_in_small_batches(world: World, tmp_path: Path) -> None:
    world.register("models/keep/")
    for i in range(25):
        world.put(f"models/drop/{i:02d}", age_days=30)
    plan_path = plan(world, tmp_path)
    calls = []
    clients = world.clients()
    clients.s3.meta.events.register(
        "provide-client-params.s3.DeleteObjects",
        lambda params, **kw: calls.append(len(params["Delete"]["Objects"])),
    )
    opts = ApplyOptions(audit_path=tmp_path / "audit.jsonl", max_delete_fraction=1.0, batch_size=10)
    prepared = prepare_apply(plan_path, GcConfig(), opts, clients, datetime.now(timezone.utc))
    execute_apply(prepared, clients, opts)
    assert calls == [10, 10, 5]
    assert not world.listed_keys()


def test_batches_never_span_two_scope_prefixes(world: World, tmp_path: Path) -> None:
    """A least-privilege role may only list inside the scope prefixes: each re-check must stay inside one."""
    seed(world)
    plan_path = plan(world, tmp_path)
    listed, deleted = [], []
    clients = world.clients()
    clients.s3.meta.events.register(
        "provide-client-params.s3.ListObjectsV2", lambda params, **kw: listed.append(params["Prefix"])
    )
    clients.s3.meta.events.register(
        "provide-client-params.s3.DeleteObjects",
        lambda params, **kw: deleted.append([o["Key"] for o in params["Delete"]["Objects"]]),
    )
    opts = ApplyOptions(audit_path=tmp_path / "audit.jsonl", max_delete_fraction=1.0)
    execute_apply(
        prepare_apply(plan_path, GcConfig(), opts, clients, datetime.now(timezone.utc)), clients, opts
    )
    # scope prefixes, plus the GC's own ledger of quarantined objects under the control prefix
    assert listed and all(
        p.startswith(("models/", "checkpoints/", ".artifact-gc/quarantine/")) for p in listed
    )
    assert sorted(deleted) == [
        ["checkpoints/run-1/step-100/shard-0.pt"],
        ["models/drop/v1/cfg.json", "models/drop/v1/m.bin"],
    ]


def test_deletes_carry_the_planned_etag(world: World, tmp_path: Path) -> None:
    seed(world)
    plan_path = plan(world, tmp_path)
    sent = []
    clients = world.clients()
    clients.s3.meta.events.register(
        "provide-client-params.s3.DeleteObjects",
        lambda params, **kw: sent.extend(params["Delete"]["Objects"]),
    )
    opts = ApplyOptions(audit_path=tmp_path / "audit.jsonl", max_delete_fraction=1.0)
    execute_apply(
        prepare_apply(plan_path, GcConfig(), opts, clients, datetime.now(timezone.utc)), clients, opts
    )
    planned = {c["key"]: c["etag"] for c in map(json.loads, plan_path.read_text().splitlines()[1:])}
    assert len(sent) == 3
    assert {item["Key"]: item["ETag"] for item in sent} == planned


# ---------------------------------------------------------------------------------------------- versioned


def test_versioned_default_adds_recoverable_delete_markers(versioned_world: World, tmp_path: Path) -> None:
    world = versioned_world
    seed(world)
    plan_path = plan(world, tmp_path)
    result = apply(world, plan_path)
    assert result.delete_markers == 3 and result.versions_deleted == 0
    records = audit(plan_path)
    markers = world.s3.list_object_versions(Bucket=BUCKET)["DeleteMarkers"]
    assert {r["delete_marker_version_id"] for r in records} == {m["VersionId"] for m in markers}
    versions = world.s3.list_object_versions(Bucket=BUCKET, Prefix="models/drop/")["Versions"]
    assert len(versions) == 2  # the data is still there, recoverable


def test_versioned_purge_deletes_every_version(versioned_world: World, tmp_path: Path) -> None:
    world = versioned_world
    world.register("models/keep/")
    world.put("models/drop/a", age_days=40, body=b"old")
    world.put("models/drop/a", age_days=30, body=b"older-but-current")
    plan_path = plan(world, tmp_path)
    result = apply(world, plan_path, purge_versions=True)
    listing = world.s3.list_object_versions(Bucket=BUCKET, Prefix="models/drop/")
    assert "Versions" not in listing and "DeleteMarkers" not in listing
    assert result.versions_deleted == 2 and result.deleted == 1
    assert all(r["version_id"] for r in audit(plan_path))


def test_suspended_versioning_null_version_id(world: World, tmp_path: Path) -> None:
    world.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    world.register("models/keep/")
    world.put("models/drop/a", age_days=30)
    plan_path = plan(world, tmp_path)
    candidate = json.loads(plan_path.read_text().splitlines()[1])
    assert candidate["version_id"] is None and candidate["current_version_id"] == "null"
    apply(world, plan_path)
    assert "models/drop/a" not in world.listed_keys()


def test_purge_needs_a_versioned_bucket(world: World, tmp_path: Path) -> None:
    seed(world)
    with pytest.raises(UsageError, match="not versioned"):
        apply(world, plan(world, tmp_path), purge_versions=True)


# ---------------------------------------------------------------------------------------- SlowDown bursts


def test_apply_rides_out_a_burst_of_slowdown(world: World, tmp_path: Path, monkeypatch) -> None:
    """Five 503 SlowDown answers in a row: botocore's standard retries absorb them."""
    from botocore.awsrequest import AWSResponse
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)

    seed(world)
    plan_path = plan(world, tmp_path)
    clients = world.clients()
    answers = {"n": 0}

    class Raw:
        def stream(self, **kwargs):
            yield b""

    def slow_down(request, **kwargs):
        if answers["n"] < 5:
            answers["n"] += 1
            body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
            response = AWSResponse(request.url, 503, {}, Raw())
            response._content = body
            return response
        return None

    clients.s3.meta.events.register("before-send.s3.DeleteObjects", slow_down)
    opts = ApplyOptions(audit_path=tmp_path / "audit.jsonl", max_delete_fraction=1.0)
    prepared = prepare_apply(plan_path, GcConfig(), opts, clients, datetime.now(timezone.utc))
    result = execute_apply(prepared, clients, opts, sleep=lambda s: None)
    assert answers["n"] == 5
    assert result.deleted == 3 and not result.failed


def test_per_key_slowdown_is_retried_as_a_batch_and_hard_errors_are_reported(
    world: World, tmp_path: Path
) -> None:
    seed(world)
    plan_path = plan(world, tmp_path)
    clients = world.clients()
    calls: list[list[str]] = []

    def record(params, **kwargs):
        calls.append([o["Key"] for o in params["Delete"]["Objects"]])

    def per_key_errors(parsed, **kwargs):
        if calls[-1] == ["models/drop/v1/cfg.json", "models/drop/v1/m.bin"]:  # the first models/ request only
            parsed["Errors"] = [
                {"Key": "models/drop/v1/m.bin", "Code": "SlowDown", "Message": "slow"},
                {"Key": "models/drop/v1/cfg.json", "Code": "AccessDenied", "Message": "Access Denied"},
            ]

    clients.s3.meta.events.register("provide-client-params.s3.DeleteObjects", record)
    clients.s3.meta.events.register("after-call.s3.DeleteObjects", per_key_errors)
    opts = ApplyOptions(audit_path=tmp_path / "audit.jsonl", max_delete_fraction=1.0)
    prepared = prepare_apply(plan_path, GcConfig(), opts, clients, datetime.now(timezone.utc))
    result = execute_apply(prepared, clients, opts, sleep=lambda s: None)
    # the SlowDown key is sent again, alone; the AccessDenied one is reported, not retried
    assert calls == [
        ["checkpoints/run-1/step-100/shard-0.pt"],
        ["models/drop/v1/cfg.json", "models/drop/v1/m.bin"],
        ["models/drop/v1/m.bin"],
    ]
    assert result.failed == [("models/drop/v1/cfg.json", "AccessDenied: Access Denied")]
    audited = {r["key"] for r in audit(plan_path)}
    assert "models/drop/v1/cfg.json" not in audited and "models/drop/v1/m.bin" in audited


def test_a_batch_that_keeps_failing_reports_its_keys(world: World, tmp_path: Path) -> None:
    from botocore.exceptions import EndpointConnectionError

    seed(world)
    plan_path = plan(world, tmp_path)
    clients = world.clients()

    def unreachable(**kwargs):
        raise EndpointConnectionError(endpoint_url="http://s3")

    clients.s3.meta.events.register("before-call.s3.DeleteObjects", unreachable)
    opts = ApplyOptions(audit_path=tmp_path / "audit.jsonl", max_delete_fraction=1.0, batch_attempts=3)
    prepared = prepare_apply(plan_path, GcConfig(), opts, clients, datetime.now(timezone.utc))
    sleeps: list[float] = []
    result = execute_apply(prepared, clients, opts, sleep=sleeps.append)
    assert len(result.failed) == 3 and all("after 3 attempts" in reason for _, reason in result.failed)
    assert sleeps == [2.0, 4.0, 2.0, 4.0]  # each of the two batches (one per scope prefix) backs off twice
    assert audit(plan_path) == []


# ------------------------------------------------------------------------------------ fail closed (exit 3)


def test_registry_unreadable_at_apply_deletes_nothing(world: World, tmp_path: Path) -> None:
    seed(world)
    plan_path = plan(world, tmp_path)
    world.ddb.delete_table(TableName=TABLE)
    before = world.listed_keys()
    with pytest.raises(RegistryError):
        apply(world, plan_path)
    assert world.listed_keys() == before


def test_registry_emptied_at_apply_deletes_nothing(world: World, tmp_path: Path) -> None:
    seed(world)
    plan_path = plan(world, tmp_path)
    for item in world.ddb.scan(TableName=TABLE)["Items"]:
        world.ddb.delete_item(TableName=TABLE, Key={"model_id": item["model_id"], "version": item["version"]})
    before = world.listed_keys()
    with pytest.raises(SafetyError, match="no references"):
        apply(world, plan_path)
    assert world.listed_keys() == before


def test_unparseable_reference_refuses_plan_and_apply(world: World, tmp_path: Path) -> None:
    seed(world)
    plan_path = plan(world, tmp_path)
    world.register("s3:/ml-artifacts-test/models/drop/v1")  # a typo: would otherwise protect nothing
    before = world.listed_keys()
    with pytest.raises(ReferenceParseError):
        apply(world, plan_path)
    with pytest.raises(ReferenceParseError):
        plan(world, tmp_path)
    assert world.listed_keys() == before


def test_empty_registry_refuses_plan_unless_allowed(world: World, tmp_path: Path) -> None:
    world.put("models/a", age_days=30)
    with pytest.raises(SafetyError, match="--allow-empty-registry"):
        plan(world, tmp_path)
    plan_path = plan(world, tmp_path, allow_empty_registry=True)
    with pytest.raises(SafetyError):
        apply(world, plan_path)
    apply(world, plan_path, allow_empty_registry=True)
    assert world.listed_keys() == set()


def test_delete_fraction_and_bytes_limits(world: World, tmp_path: Path) -> None:
    seed(world)
    out = tmp_path / "plan.jsonl"
    result = run_plan(CONFIG, PlanOptions(out=out), world.clients(), datetime.now(timezone.utc))
    assert result.refused is None  # 3 of 6 objects in scope is 50%: not more than the default 0.5
    result = run_plan(
        CONFIG, PlanOptions(out=out, max_delete_fraction=0.4), world.clients(), datetime.now(timezone.utc)
    )
    assert result.refused and "--max-delete-fraction 0.4" in result.refused
    with pytest.raises(SafetyError, match="plan written for review"):
        raise_if_refused(result)
    assert out.exists()
    before = world.listed_keys()
    with pytest.raises(SafetyError, match="max-delete-fraction"):
        apply(world, out, max_delete_fraction=0.4)
    with pytest.raises(SafetyError, match="max-delete-bytes"):
        apply(world, out, max_delete_bytes=2)
    assert world.listed_keys() == before


def test_plan_older_than_max_age_is_refused(world: World, tmp_path: Path) -> None:
    seed(world)
    plan_path = plan(world, tmp_path)
    opts = ApplyOptions(audit_path=tmp_path / "a.jsonl", max_delete_fraction=1.0, max_plan_age_seconds=3600)
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    with pytest.raises(SafetyError, match="older than --max-plan-age"):
        prepare_apply(plan_path, GcConfig(), opts, world.clients(), later)
    earlier = datetime.now(timezone.utc) - timedelta(hours=2)
    with pytest.raises(SafetyError, match="in the future"):
        prepare_apply(plan_path, GcConfig(), opts, world.clients(), earlier)


@pytest.mark.parametrize(
    "restated",
    [
        GcConfig(bucket="another-bucket"),
        GcConfig(registry_tables=("another-table",)),
        GcConfig(prefixes=("models/",)),
        GcConfig(min_age_days=1),
        GcConfig(path_attributes=("uri",)),
        GcConfig(manifests=("m.txt",)),
    ],
)
def test_restated_config_must_match_the_plan(world: World, tmp_path: Path, restated: GcConfig) -> None:
    seed(world)
    plan_path = plan(world, tmp_path)
    with pytest.raises(SafetyError, match=r"differs? from the plan"):
        apply(world, plan_path, restated)
    assert len(world.listed_keys()) == 7


def test_restating_the_same_config_is_fine(world: World, tmp_path: Path) -> None:
    seed(world)
    plan_path = plan(world, tmp_path)
    result = apply(
        world, plan_path, replace(CONFIG, prefixes=("models/", "checkpoints/", "models/x/"), min_age_days=7)
    )
    assert result.deleted == 3


def _edit_header(plan_path: Path, **changes) -> None:
    """Edit the header and re-seal its digest: the checks behind the digest must hold on their own."""
    lines = plan_path.read_text().splitlines()
    header = json.loads(lines[0]) | changes
    header["header_digest"] = header_digest(header)
    plan_path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")


def test_an_edited_header_is_named_as_such(world: World, tmp_path: Path) -> None:
    seed(world)
    plan_path = plan(world, tmp_path)
    lines = plan_path.read_text().splitlines()
    header = json.loads(lines[0]) | {"bucket": "another-bucket"}
    plan_path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    with pytest.raises(UsageError, match="header was edited"):
        apply(world, plan_path)
    assert len(world.listed_keys()) == 7


def test_plan_from_another_account_is_refused(world: World, tmp_path: Path) -> None:
    seed(world)
    plan_path = plan(world, tmp_path)
    _edit_header(plan_path, account="999999999999")
    with pytest.raises(SafetyError, match="account 999999999999"):
        apply(world, plan_path)


def test_truncated_or_edited_plans_are_refused(world: World, tmp_path: Path) -> None:
    seed(world)
    plan_path = plan(world, tmp_path)
    lines = plan_path.read_text().splitlines()
    plan_path.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(UsageError, match="truncated or edited"):
        apply(world, plan_path)
    record = json.loads(lines[1]) | {"key": "outside/scope.bin"}
    plan_path.write_text("\n".join([lines[0], json.dumps(record), *lines[2:]]) + "\n")
    with pytest.raises(UsageError, match="outside the plan's scope"):
        apply(world, plan_path)
    record = json.loads(lines[1]) | {"last_modified": datetime.now(timezone.utc).isoformat()}
    plan_path.write_text("\n".join([lines[0], json.dumps(record), *lines[2:]]) + "\n")
    with pytest.raises(UsageError, match="younger than the plan's cutoff"):
        apply(world, plan_path)
    assert len(world.listed_keys()) == 7


def test_versioning_changed_since_plan_is_refused(world: World, tmp_path: Path) -> None:
    seed(world)
    plan_path = plan(world, tmp_path)
    world.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    with pytest.raises(SafetyError, match="versioning"):
        apply(world, plan_path)
