"""The embedded local stack: moto's ThreadedMotoServer on 127.0.0.1, and a realistic ML bucket to GC.

Used by ``make demo`` and the end-to-end tests. Needs the ``local`` extra (moto). Objects are backdated
in the emulator itself (moto's stored keys get an old ``last_modified``), so listings report real old
dates and the GC needs no fake clock.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3

DEMO_BUCKET = "ml-artifacts-demo"
DEMO_TABLE = "model-registry-demo"
DEMO_REGION = "us-east-1"
DEMO_PREFIXES = ("checkpoints/", "experiments/", "models/")
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass
class LocalStack:
    """A running emulator: its endpoint and the environment a GC process needs to reach it."""

    endpoint_url: str
    server: Any

    @property
    def env(self) -> dict[str, str]:
        return {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": DEMO_REGION, "AWS_ENDPOINT_URL": self.endpoint_url}

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=DEMO_REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@contextmanager
def local_stack() -> Iterator[LocalStack]:
    """Start moto's server on 127.0.0.1 and a free port; stop it on exit."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request drowns the output
    for name, value in FAKE_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield LocalStack(endpoint_url=f"http://{host}:{port}", server=server)
    finally:
        server.stop()


def backdate(bucket: str, key: str, when: datetime) -> None:
    """Set the stored LastModified of the current version of ``key`` in the in-process emulator.

    Only the newest version: moto orders versions by LastModified, so stamping older ones too would
    make it report a stale version as the latest.
    """
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    stored = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[bucket].keys
    # moto keeps versions oldest first, as naive UTC datetimes
    stored.getlist(key)[-1].last_modified = when.astimezone(timezone.utc).replace(tzinfo=None)


def create_registry_table(dynamodb: Any, table: str) -> None:
    dynamodb.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "model_id", "KeyType": "HASH"},
            {"AttributeName": "version", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "model_id", "AttributeType": "S"},
            {"AttributeName": "version", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def register(
    dynamodb: Any, table: str, model_id: str, version: int, s3_path: Any, status: str = "active"
) -> None:
    """Write one registry row; ``s3_path`` may be a string or a list of strings."""
    path = {"S": s3_path} if isinstance(s3_path, str) else {"L": [{"S": p} for p in s3_path]}
    dynamodb.put_item(
        TableName=table,
        Item={
            "model_id": {"S": model_id},
            "version": {"N": str(version)},
            "s3_path": path,
            "status": {"S": status},
        },
    )


@dataclass
class SeededLayout:
    """What the seeding wrote, so the demo and tests can check the GC's verdicts."""

    bucket: str
    table: str
    objects: dict[str, int] = field(default_factory=dict)  # key -> age in days
    referenced_keys: set[str] = field(default_factory=set)  # keys a registry reference protects
    registry_rows: list[tuple[str, int, Any]] = field(default_factory=list)


def seed_demo(
    stack: LocalStack,
    bucket: str = DEMO_BUCKET,
    table: str = DEMO_TABLE,
    seed: int = 7,
    versioned: bool = True,
    scale: int = 1,
) -> SeededLayout:
    """Create the bucket and registry and fill them with a realistic ML layout.

    Several projects; training runs with ``step-N/`` checkpoint shards; failed experiments; registered
    model versions whose registry paths use several spellings; unregistered versions (including a
    ``v1``/``v10`` near miss); ages from 1 to 400 days; some objects in STANDARD_IA and GLACIER_IR.
    ``scale`` multiplies the size of shards, weights and model files (tests keep them small; the demo
    makes them megabytes, so that the 128 KB minimum transition size does not hide the lifecycle).
    """
    rng = random.Random(seed)
    s3 = stack.client("s3")
    ddb = stack.client("dynamodb")
    s3.create_bucket(Bucket=bucket)
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    create_registry_table(ddb, table)
    layout = SeededLayout(bucket=bucket, table=table)
    now = datetime.now(timezone.utc)

    def put(key: str, age_days: int, size: int, storage_class: str = "STANDARD") -> None:
        s3.put_object(Bucket=bucket, Key=key, Body=rng.randbytes(size), StorageClass=storage_class)
        backdate(bucket, key, now - timedelta(days=age_days, hours=rng.randint(0, 20)))
        layout.objects[key] = age_days

    projects = ["vision-resnet", "nlp-bert", "recsys-ranker"]
    for project in projects:
        for run in range(3):
            run_age = rng.randint(2, 400)
            for step in (1000, 2000, 3000):
                for shard in range(2):
                    storage = "STANDARD_IA" if run_age > 60 else "STANDARD"
                    put(
                        f"checkpoints/{project}/run-{run:03d}/step-{step}/shard-{shard:05d}.pt",
                        run_age,
                        rng.randint(20_000, 60_000) * scale,
                        storage,
                    )
        for exp in range(2):
            age = rng.randint(15, 300)
            put(f"experiments/failed/{project}/exp-{exp:02d}/metrics.json", age, 2_000)
            put(
                f"experiments/failed/{project}/exp-{exp:02d}/model.bin",
                age,
                rng.randint(30_000, 80_000) * scale,
            )
        for version in (1, 2, 3, 10):
            age = 400 - version * 30
            storage = "GLACIER_IR" if age > 200 else "STANDARD"
            put(
                f"models/{project}/v{version}/model.safetensors",
                age,
                rng.randint(50_000, 120_000) * scale,
                storage,
            )
            put(f"models/{project}/v{version}/config.json", age, 1_500, storage)
        # A brand-new, not-yet-registered model: too young to collect.
        put(f"models/{project}/v11/model.safetensors", 1, 40_000 * scale)

    # Registry rows in every spelling the field uses.
    endpoint_host = stack.endpoint_url.split("://", 1)[1]
    rows: list[tuple[str, int, Any]] = [
        ("vision-resnet", 3, f"s3://{bucket}/models/vision-resnet/v3/"),  # trailing slash
        (
            "vision-resnet",
            1,
            f"s3a://{bucket}/models/vision-resnet/v1",
        ),  # s3a, no slash: also keeps v10 (near miss)
        ("nlp-bert", 2, "models/nlp-bert/v2"),  # bare key
        (
            "nlp-bert",
            3,
            f"https://{bucket}.s3.{DEMO_REGION}.amazonaws.com/models/nlp-bert/v3/model.safetensors",
        ),
        ("recsys-ranker", 10, f"http://{endpoint_host}/{bucket}/models/recsys-ranker/v10/"),  # path-style URL
        (
            "recsys-ranker",
            3,
            [
                f"s3://{bucket}/models/recsys-ranker/v3/model.safetensors",
                f"s3://{bucket}/models/recsys-ranker/v3/config.json",
            ],
        ),  # list value
        (
            "recsys-ranker",
            2,
            f"s3://{bucket}/checkpoints/recsys-ranker/run-001/step-3000/",
        ),  # a kept checkpoint
        ("shared-embeddings", 1, "s3://another-teams-bucket/embeddings/v1/"),  # other bucket: counted only
    ]
    for model_id, version, path in rows:
        register(ddb, table, model_id, version, path)
    layout.registry_rows = rows
    references = [
        "models/vision-resnet/v3",
        "models/vision-resnet/v1",
        "models/nlp-bert/v2",
        "models/nlp-bert/v3/model.safetensors",
        "models/recsys-ranker/v10",
        "models/recsys-ranker/v3/model.safetensors",
        "models/recsys-ranker/v3/config.json",
        "checkpoints/recsys-ranker/run-001/step-3000",
    ]
    layout.referenced_keys = {k for k in layout.objects if any(k.startswith(r) for r in references)}
    return layout


def gc_config_outputs(
    bucket: str, table: str, prefixes: tuple[str, ...] = DEMO_PREFIXES, min_age_days: int = 7
) -> dict[str, Any]:
    """A ``terraform output -json`` document with the ``gc_config`` output, as the root module writes it."""
    value = {
        "bucket": bucket,
        "region": DEMO_REGION,
        "registry_table": table,
        "gc_prefixes": list(prefixes),
        "min_age_days": min_age_days,
        "path_attribute": "s3_path",
    }
    return {"gc_config": {"sensitive": False, "type": ["object", {}], "value": value}}
