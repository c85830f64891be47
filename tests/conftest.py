"""Shared fixtures: moto for AWS (in-process mock_aws for unit tests, ThreadedMotoServer for the CLI)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from artifact_gc.aws import AwsClients, AwsSettings
from artifact_gc.local_stack import backdate, create_registry_table, register

REGION = "us-east-1"
BUCKET = "ml-artifacts-test"
TABLE = "model-registry-test"


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, and no real endpoint or profile leaking in from the developer's shell."""
    for name in list(os.environ):
        if name.startswith(("ARTIFACT_GC_", "AWS_ENDPOINT_URL", "AWS_PROFILE")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


class World:
    """A mocked account with one artifact bucket and one registry table, and helpers to fill them."""

    def __init__(self, versioned: bool = False) -> None:
        self.s3 = boto3.client("s3", region_name=REGION)
        self.ddb = boto3.client("dynamodb", region_name=REGION)
        self.s3.create_bucket(Bucket=BUCKET)
        if versioned:
            self.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        create_registry_table(self.ddb, TABLE)
        self.now = datetime.now(timezone.utc)
        self._version = 0

    def put(
        self, key: str, age_days: float = 30, body: bytes = b"x", storage_class: str = "STANDARD"
    ) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body, StorageClass=storage_class)
        backdate(BUCKET, key, self.now - timedelta(days=age_days))

    def register(self, path: Any, model_id: str = "m", status: str = "active") -> None:
        self._version += 1
        register(self.ddb, TABLE, model_id, self._version, path, status)

    def listed_keys(self) -> set[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return {  # artifacts only: the GC's own state under .artifact-gc/ is not what these tests watch
            o["Key"]
            for page in pages
            for o in page.get("Contents", ())
            if not o["Key"].startswith(".artifact-gc/")
        }

    def cli_plan(self, out: Path, *extra: str) -> Path:
        """`artifact-gc plan` of prefix models/ through the CLI; asserts it succeeded."""
        from typer.testing import CliRunner

        from artifact_gc.cli.app import app

        args = [
            "plan",
            "--bucket",
            BUCKET,
            "--registry-table",
            TABLE,
            "--prefix",
            "models/",
            "--out",
            str(out),
            "--max-delete-fraction",
            "1",
            *extra,
        ]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        return out

    def clients(self) -> AwsClients:
        return AwsClients(AwsSettings(region=REGION))


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield World()


@pytest.fixture
def versioned_world() -> Iterator[World]:
    with mock_aws():
        yield World(versioned=True)
