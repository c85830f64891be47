"""Fault injection between the GC and the endpoint: each case asserts the exit code, the message, that no
protected or changed object was deleted, and that a re-run finishes the job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from artifact_gc.local_stack import LocalStack, backdate, create_registry_table, local_stack, register

from fault_proxy import Fault, FaultProxy

pytestmark = pytest.mark.e2e
PROTECTED = ["models/keep/a", "models/keep/b"]
GARBAGE = [f"models/drop/{i:02d}" for i in range(6)]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with local_stack() as running:
        yield running


class Bench:
    """A seeded bucket and registry, the proxy in front of the emulator, and the CLI as a subprocess."""

    def __init__(self, stack: LocalStack, tmp_path: Path) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.bucket, self.table = f"faults-{suffix}", f"registry-{suffix}"
        self.s3, ddb = stack.client("s3"), stack.client("dynamodb")
        self.s3.create_bucket(Bucket=self.bucket)
        create_registry_table(ddb, self.table)
        for version, path in enumerate(
            ["models/keep/a", "models/keep/b", "models/gone/", "s3://elsewhere/x/", "models/z/", "models/y/"]
        ):
            register(ddb, self.table, "m", version, path)
        old = datetime.now(timezone.utc) - timedelta(days=30)
        for key in PROTECTED + GARBAGE:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=key.encode())
            backdate(self.bucket, key, old)
        self.proxy = FaultProxy(stack.endpoint_url)
        self.env = {**os.environ, **stack.env, "AWS_ENDPOINT_URL": self.proxy.url}
        self.plan = tmp_path / "plan.jsonl"
        self.audit = tmp_path / "audit.jsonl"

    def gc(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "artifact_gc", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "artifact_gc", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def plan_args(self) -> list[str]:
        return [
            "plan",
            "--bucket",
            self.bucket,
            "--registry-table",
            self.table,
            "--prefix",
            "models/",
            "--out",
            str(self.plan),
            "--max-delete-fraction",
            "1",
            "--scan-page-size",
            "2",
        ]

    def apply_args(self) -> list[str]:
        return [
            "apply",
            str(self.plan),
            "--yes",
            "--audit",
            str(self.audit),
            "--max-delete-fraction",
            "1",
            "--batch-size",
            "2",
            "--scan-page-size",
            "2",
        ]

    def stored_keys(self) -> set[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix="models/")
        return {o["Key"] for page in pages for o in page.get("Contents", ())}

    def audited(self) -> list[str]:
        return (
            [json.loads(line)["key"] for line in self.audit.read_text().splitlines()]
            if self.audit.exists()
            else []
        )

    def assert_safe(self) -> None:
        assert set(PROTECTED) <= self.stored_keys(), "a protected object was deleted"
        assert len(self.audited()) == len(set(self.audited())), "the audit log has duplicates"

    def assert_finished(self) -> None:
        assert self.stored_keys() == set(PROTECTED)
        assert sorted(self.audited()) == GARBAGE


@pytest.fixture
def bench(stack: LocalStack, tmp_path: Path) -> Iterator[Bench]:
    b = Bench(stack, tmp_path)
    yield b
    b.proxy.stop()


def planned(bench: Bench) -> None:
    done = bench.gc(*bench.plan_args())
    assert done.returncode == 0, done.stderr


def test_a_burst_of_slowdown_on_deletes_is_ridden_out(bench: Bench) -> None:
    planned(bench)
    bench.proxy.faults.append(Fault("s3:DeleteObjects", "slowdown", nth=1, times=4))
    done = bench.gc(*bench.apply_args())
    assert done.returncode == 0, done.stderr
    assert bench.proxy.faults[0].hits == 4
    bench.assert_safe()
    bench.assert_finished()


def test_connection_resets_while_listing_are_retried(bench: Bench) -> None:
    bench.proxy.faults.append(Fault("s3:ListObjectsV2", "reset", nth=1, times=2))
    planned(bench)
    assert bench.proxy.faults[0].hits == 2
    candidates = [json.loads(line)["key"] for line in bench.plan.read_text().splitlines()[1:]]
    assert candidates == GARBAGE


def test_slowdown_while_listing_in_parallel_is_absorbed(bench: Bench) -> None:
    """--list-concurrency: throttled listings are retried by botocore; the plan is the same."""
    bench.proxy.faults.append(Fault("s3:ListObjectsV2", "slowdown", nth=2, times=3))
    done = bench.gc(*bench.plan_args(), "--list-concurrency", "4")
    assert done.returncode == 0, done.stderr
    assert bench.proxy.faults[0].hits == 3
    candidates = [json.loads(line)["key"] for line in bench.plan.read_text().splitlines()[1:]]
    assert candidates == GARBAGE


def test_per_key_internal_errors_are_retried_as_a_batch(bench: Bench) -> None:
    planned(bench)
    bench.proxy.faults.append(
        Fault("s3:DeleteObjects", "key_errors", nth=1, key_errors={"models/drop/00": "InternalError"})
    )
    done = bench.gc(*bench.apply_args(), "--concurrency", "1")  # the order of requests is what is checked
    assert done.returncode == 0, done.stderr
    bench.assert_safe()
    bench.assert_finished()
    # what reached S3: the first request without the failing key, then that key again on its own
    assert bench.proxy.delete_requests[:2] == [["models/drop/01"], ["models/drop/00"]]


def test_access_denied_on_some_keys_is_reported_and_a_rerun_finishes(bench: Bench) -> None:
    planned(bench)
    bench.proxy.faults.append(
        Fault(
            "s3:DeleteObjects", "key_errors", nth=1, times=100, key_errors={"models/drop/02": "AccessDenied"}
        )
    )
    done = bench.gc(*bench.apply_args())
    assert done.returncode == 1
    assert "failed models/drop/02: AccessDenied" in done.stdout
    assert "models/drop/02" in bench.stored_keys()
    bench.assert_safe()
    bench.proxy.faults.clear()
    again = bench.gc(*bench.apply_args())
    assert again.returncode == 0, again.stderr
    bench.assert_safe()
    bench.assert_finished()


def test_the_registry_scan_failing_on_a_later_page_refuses(bench: Bench) -> None:
    bench.proxy.faults.append(Fault("dynamodb:Scan", "denied", nth=2))
    done = bench.gc(*bench.plan_args())
    assert done.returncode == 3
    assert "could not be scanned completely" in done.stderr and "AccessDeniedException" in done.stderr
    assert not bench.plan.exists()
    bench.proxy.faults.clear()
    planned(bench)
    bench.proxy.faults.append(Fault("dynamodb:Scan", "denied", nth=bench.proxy.counts["dynamodb:Scan"] + 2))
    refused = bench.gc(*bench.apply_args())
    assert refused.returncode == 3 and "could not be scanned completely" in refused.stderr
    assert bench.stored_keys() == set(PROTECTED + GARBAGE)


def test_dynamodb_throughput_errors_are_ridden_out(bench: Bench) -> None:
    bench.proxy.faults.append(Fault("dynamodb:Scan", "throughput", nth=2, times=3))
    planned(bench)
    assert bench.proxy.faults[0].hits == 3
    assert len(bench.plan.read_text().splitlines()) == 1 + len(GARBAGE)


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_a_crash_between_two_batches_resumes(bench: Bench, concurrency: str) -> None:
    planned(bench)
    process = bench.start(*bench.apply_args(), "--concurrency", concurrency)
    bench.proxy.faults.append(Fault("s3:DeleteObjects", "kill_before", nth=2, on_kill=process.kill))
    process.wait(timeout=120)
    assert process.returncode != 0
    gone = set(GARBAGE) - bench.stored_keys()
    assert set(bench.audited()) <= gone  # what is audited was deleted
    if concurrency == "1":
        assert bench.audited() == GARBAGE[:2]
    before = len(bench.proxy.delete_requests)
    bench.proxy.faults.clear()
    done = bench.gc(*bench.apply_args(), "--concurrency", concurrency)
    assert done.returncode == 0, done.stderr
    if concurrency == "1":
        assert "resumed: 2 candidates" in done.stdout
    bench.assert_safe()
    bench.assert_finished()
    resent = {key for request in bench.proxy.delete_requests[before:] for key in request}
    assert not resent & gone  # nothing S3 had already deleted is sent again


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_a_crash_after_s3_deleted_a_batch_is_recovered(bench: Bench, concurrency: str) -> None:
    planned(bench)
    process = bench.start(*bench.apply_args(), "--concurrency", concurrency)
    bench.proxy.faults.append(Fault("s3:DeleteObjects", "kill_after", nth=2, on_kill=process.kill))
    process.wait(timeout=120)
    assert process.returncode != 0
    second = set(bench.proxy.delete_requests[1])
    gone = set(GARBAGE) - bench.stored_keys()
    assert second <= gone  # S3 did the second request ...
    assert not second & set(bench.audited())  # ... but the GC died before auditing it
    if concurrency == "1":
        assert bench.audited() == GARBAGE[:2]
    before = len(bench.proxy.delete_requests)
    bench.proxy.faults.clear()
    done = bench.gc(*bench.apply_args(), "--concurrency", concurrency)
    assert done.returncode == 0, done.stderr
    assert "audited now" in done.stdout
    bench.assert_safe()
    bench.assert_finished()
    resent = {key for request in bench.proxy.delete_requests[before:] for key in request}
    assert not resent & gone  # nothing S3 had already deleted is sent again


def test_an_object_rewritten_between_plan_and_apply_is_kept(bench: Bench) -> None:
    planned(bench)
    bench.s3.put_object(
        Bucket=bench.bucket, Key="models/drop/03", Body=b"a new checkpoint, written after the plan"
    )
    done = bench.gc(*bench.apply_args())
    assert done.returncode == 0, done.stderr
    assert "changed since the plan, kept: models/drop/03" in done.stdout
    assert "models/drop/03" in bench.stored_keys()
    bench.assert_safe()
    again = bench.gc(*bench.apply_args())
    assert again.returncode == 0 and "models/drop/03" in bench.stored_keys()
    assert sorted(bench.audited()) == [k for k in GARBAGE if k != "models/drop/03"]


def test_restore_never_deletes_what_it_cannot_verify(bench: Bench) -> None:
    """Listing versions fails (denied): a tampered audit line naming a data version must not be deleted."""
    bench.s3.put_bucket_versioning(Bucket=bench.bucket, VersioningConfiguration={"Status": "Enabled"})
    planned(bench)
    assert bench.gc(*bench.apply_args()).returncode == 0
    data_version = bench.s3.list_object_versions(Bucket=bench.bucket, Prefix="models/keep/a")["Versions"][0]
    lines = [json.loads(line) for line in bench.audit.read_text().splitlines()]
    lines[0] |= {"key": "models/keep/a", "delete_marker_version_id": data_version["VersionId"]}
    bench.audit.write_text("".join(json.dumps(line) + "\n" for line in lines))
    bench.proxy.faults.append(Fault("s3:ListObjectVersions", "denied", times=1000))
    done = bench.gc("restore", str(bench.audit), "--yes")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "not restored models/keep/a: cannot verify" in " ".join(done.stdout.split())
    versions = bench.s3.list_object_versions(Bucket=bench.bucket, Prefix="models/keep/a")["Versions"]
    assert [v["VersionId"] for v in versions] == [data_version["VersionId"]]  # the data version is there
    assert "models/keep/a" in bench.stored_keys()
