"""Property-based proof on the emulator: whatever the registry and the key tree, plan + apply never delete
a referenced object or one younger than the minimum age, and they do delete everything else."""

from __future__ import annotations

import os
import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from artifact_gc.aws import AwsClients, AwsSettings
from artifact_gc.collect.apply import ApplyOptions, execute_apply, prepare_apply
from artifact_gc.collect.planner import PlanOptions, run_plan
from artifact_gc.config import GcConfig
from artifact_gc.errors import SafetyError
from artifact_gc.local_stack import backdate, create_registry_table, register
from artifact_gc.refs.uris import parse_reference

MIN_AGE = 7
SEGMENTS = [
    "models",
    "ckpt",
    "v1",
    "v10",
    "v1.tar.gz",
    "ü-model",
    "a b",
    "p%20q",
    "p q",
    "x+y",
    "step-1000",
    "run-01",
]
SPELLINGS = [
    "s3://{b}/{k}",
    "s3a://{b}/{k}/",
    "s3n://{b}/{k}",
    "{k}",
    "{k}/",
    "s3://{b}/{k}//",
    "https://{b}.s3.us-east-1.amazonaws.com/{q}",
    "https://s3.amazonaws.com/{b}/{q}/",
    "s3://someone-else/{k}",
]

keys = st.lists(
    st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=4).map("/".join),
    min_size=1,
    max_size=25,
    unique=True,
)


@st.composite
def worlds(draw):
    tree = draw(keys)
    ages = {key: draw(st.integers(0, 30)) for key in tree}
    references = []
    for _ in range(draw(st.integers(1, 6))):
        # refer to a key or to one of its folders, in any spelling
        key = draw(st.sampled_from(tree))
        parts = key.split("/")
        ref_key = "/".join(parts[: draw(st.integers(1, len(parts)))])
        references.append((draw(st.sampled_from(SPELLINGS)), ref_key))
    return tree, ages, references


def protected(key: str, uris: list[str], bucket: str) -> bool:
    """The rule of ARCHITECTURE.md, written as plainly as possible."""
    return any(
        loc.bucket == bucket and key.startswith(loc.key.rstrip("/"))
        for uri in uris
        for loc in parse_reference(uri, bucket)
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=worlds(), versioned=st.booleans())
def test_plan_and_apply_never_delete_what_is_referenced_or_young(world, versioned: bool) -> None:
    tree, ages, references = world
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    with mock_aws(), tempfile.TemporaryDirectory() as scratch:
        bucket, table = f"prop-{uuid.uuid4().hex[:10]}", "registry"
        s3, ddb = (
            boto3.client("s3", region_name="us-east-1"),
            boto3.client("dynamodb", region_name="us-east-1"),
        )
        s3.create_bucket(Bucket=bucket)
        if versioned:
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        create_registry_table(ddb, table)
        now = datetime.now(timezone.utc)
        for key in tree:
            s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
            backdate(bucket, key, now - timedelta(days=ages[key], hours=1))
        uris = [spelling.format(b=bucket, k=key, q=quote(key)) for spelling, key in references]
        for version, uri in enumerate(uris):
            register(ddb, table, "m", version, uri)

        clients = AwsClients(AwsSettings(region="us-east-1"))
        plan = Path(scratch) / "plan.jsonl"
        config = GcConfig(bucket=bucket, registry_tables=(table,), prefixes=("",), min_age_days=MIN_AGE)
        try:
            run_plan(config, PlanOptions(out=plan, max_delete_fraction=1.0), clients, now)
            options = ApplyOptions(
                audit_path=Path(scratch) / "audit.jsonl", max_delete_fraction=1.0, batch_size=3
            )
            execute_apply(
                prepare_apply(plan, GcConfig(), options, clients, now), clients, options, sleep=lambda s: None
            )
        except SafetyError:
            pass  # refusing (e.g. no reference into this bucket) is always safe; the check below still applies

        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        left = {
            o["Key"]
            for page in pages
            for o in page.get("Contents", ())
            if not o["Key"].startswith(".artifact-gc/")
        }
        # ground truth, independent of our parser: each reference into this bucket meant ref_key
        meant = [ref_key for spelling, ref_key in references if "someone-else" not in spelling]
        for key in tree:
            if any(key.startswith(ref_key) for ref_key in meant) or ages[key] < MIN_AGE:
                assert key in left, (
                    f"{key!r} (age {ages[key]}) was deleted although referenced or young: {uris}"
                )
        if any(loc.bucket == bucket for uri in uris for loc in parse_reference(uri, bucket)):
            expected = {k for k in tree if protected(k, uris, bucket) or ages[k] < MIN_AGE}
            assert left == expected  # and everything else is gone
