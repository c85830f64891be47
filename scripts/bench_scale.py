"""make bench-scale: `plan --inventory` on a synthetic Parquet inventory, against a bare DuckDB scan.

Generates (once, cached under .cache/bench-scale/) an S3 Inventory delivery of N objects in Parquet, as S3
writes it (manifest.json, manifest.checksum, data files of 5M rows), and registry references in a manifest file
as a model registry holds them: 25 of the 50 project folders, and 10,000 runs, 5,000 step folders and 5,000
files of the others (about half the old objects are candidates; the references have some twenty lengths,
as runs, steps and files do). Then, in the same run:
  * a bare DuckDB scan of the columns the mark reads (the floor: no planning can read less),
  * `artifact-gc plan --inventory` on it (a child process, so its peak memory is its own), writing a
    Parquet plan, for N and for N/5 objects (memory must not grow with the number of objects),
  * DuckDB sorting that plan's candidates by key from an unsorted copy and writing them: what any plan
    in key order pays on top of its mark,
  * `artifact-gc report --inventory` on it, without and with that plan (`--plan`).
Prints objects/s, plan time / scan time and peak memory, with the targets of the issue beside them. It
reports; it never fails on a target.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "bench-scale"
BUCKET = "ml-artifacts"
ROWS_PER_FILE = 5_000_000
REFERENCES = 10_000  # runs; and as many step folders and files together
STEP_AND_FILE_REFERENCES = 5_000
TARGET_SECONDS_100M = 120
TARGET_RATIO = 8
TARGET_MEMORY = 2 << 30
TARGET_FLATNESS = 1.5


def generate(n: int) -> Path:
    """The delivery's manifest.json (generated once per N)."""
    root = CACHE / f"n{n}"
    manifest_path = root / "inventory" / BUCKET / "bench" / "2026-01-01T00-00Z" / "manifest.json"
    write_registry(n)
    if manifest_path.exists():
        return manifest_path
    rng = np.random.default_rng(1)
    entries = []
    for start in range(0, n, ROWS_PER_FILE):
        count = min(ROWS_PER_FILE, n - start)
        index = np.arange(start, start + count)
        run = index // 40
        keys = pc.binary_join_element_wise(
            pa.array(np.char.add("checkpoints/project-", (run % 50).astype(str))),
            pa.array(np.char.add("run-", run.astype(str))),
            pa.array(np.char.add("step-", ((index % 40) // 4 * 1000).astype(str))),
            pa.array(np.char.add(np.char.add("shard-", (index % 4).astype(str)), ".pt")),
            "/",
        )
        now_ms = int(datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp() * 1000)
        ages = rng.integers(0, 300 * 86_400_000, count)
        table = pa.table(
            {
                "bucket": pa.array(np.full(count, BUCKET)),
                "key": keys,
                "size": pa.array(rng.integers(1, 1 << 30, count)),
                "last_modified_date": pa.array((now_ms - ages).astype("datetime64[ms]")).cast(
                    pa.timestamp("ms", tz="UTC")
                ),
                "e_tag": pa.array(np.full(count, "0123456789abcdef0123456789abcdef")),
                "storage_class": pa.array(np.full(count, "STANDARD")),
            }
        )
        key = f"inventory/{BUCKET}/bench/data/part-{start // ROWS_PER_FILE:05d}.parquet"
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, row_group_size=1 << 20)
        digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
        entries.append({"key": key, "size": path.stat().st_size, "MD5checksum": digest})
        print(f"  generated {start + count:,} / {n:,} objects", flush=True)
    manifest = {
        "sourceBucket": BUCKET,
        "destinationBucket": "arn:aws:s3:::inventory-dest",
        "version": "2016-11-30",
        "creationTimestamp": "0",  # rewritten at each run: the freshness check wants a recent delivery
        "fileFormat": "Parquet",
        "fileSchema": "message s3.inventory { required binary bucket (UTF8); required binary key (UTF8); "
        "optional int64 size; optional int64 last_modified_date (TIMESTAMP_MILLIS); optional binary e_tag (UTF8); "
        "optional binary storage_class (UTF8); }",
        "files": entries,
    }
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest))
    return manifest_path


def write_registry(n: int) -> Path:
    """The registry of the delivery of ``n`` objects (written once): half the projects are live (a folder
    reference each), and of the others 10,000 runs, 5,000 step folders and 5,000 checkpoint files, so the
    references have the many lengths of a real registry's (about half the old objects are candidates,
    under the default --max-delete-fraction 0.5 as a real run would be)."""
    path = CACHE / f"n{n}" / "registry-mixed.txt"
    if path.exists():
        return path
    rng = np.random.default_rng(2)
    runs = max(1, n // 40)

    def run_of(r: int) -> str:
        return f"s3://{BUCKET}/checkpoints/project-{r % 50}/run-{r}"

    steps = rng.integers(0, 10, 2 * STEP_AND_FILE_REFERENCES) * 1000
    references = (
        {f"s3://{BUCKET}/checkpoints/project-{p}/" for p in range(0, 50, 2)}
        | {run_of(r) + "/" for r in rng.integers(0, runs, REFERENCES)}
        | {
            f"{run_of(r)}/step-{step}/"
            for r, step in zip(rng.integers(0, runs, STEP_AND_FILE_REFERENCES), steps[::2], strict=True)
        }
        | {
            f"{run_of(r)}/step-{step}/shard-{r % 4}.pt"
            for r, step in zip(rng.integers(0, runs, STEP_AND_FILE_REFERENCES), steps[1::2], strict=True)
        }
    )
    path.write_text("\n".join(sorted(references)) + "\n")
    return path


def refresh(manifest_path: Path) -> None:
    """Stamp the delivery as made an hour ago, and seal it with its checksum."""
    manifest = json.loads(manifest_path.read_text())
    manifest["creationTimestamp"] = str(
        int((datetime.now(timezone.utc) - timedelta(hours=1)).timestamp() * 1000)
    )
    body = json.dumps(manifest).encode()
    manifest_path.write_bytes(body)
    (manifest_path.parent / "manifest.checksum").write_text(
        hashlib.md5(body, usedforsecurity=False).hexdigest()
    )


def describe_registry(n: int) -> str:
    lines = write_registry(n).read_text().split()
    lengths = {len(line) for line in lines}
    return f"{len(lines):,} references of {len(lengths)} lengths ({min(lengths)}-{max(lengths)} characters)"


def bare_scan(manifest_path: Path) -> float:
    import duckdb

    root = manifest_path.parents[4]
    files = [str(root / f["key"]) for f in json.loads(manifest_path.read_text())["files"]]
    con = duckdb.connect()
    query = (
        # every value read and decoded: count(column) could be answered from the files' statistics
        "SELECT sum(strlen(key)), sum(size), min(last_modified_date), sum(strlen(e_tag)), sum(strlen(storage_class)) "
        f"FROM read_parquet({files!r})"
    )
    con.sql(query).fetchall()  # once to warm the page cache, as the plan's reads will be
    started = time.perf_counter()
    con.sql(query).fetchall()
    return time.perf_counter() - started


CHILD = r"""
import sys, time
from datetime import datetime, timezone
from pathlib import Path
import boto3
from moto import mock_aws
from artifact_gc.aws import AwsClients, AwsSettings
from artifact_gc.collect.planner import PlanOptions, run_plan
from artifact_gc.config import GcConfig
from artifact_gc.report.build import load_prices, run_report

manifest, registry, out, engine = sys.argv[1:5]
with mock_aws():
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="ml-artifacts")
    clients = AwsClients(AwsSettings(region="us-east-1"))
    started = time.perf_counter()
    if engine == "report":
        plan = Path(out) if Path(out).exists() else None
        report = run_report(clients, "ml-artifacts", ("",), 2, load_prices("us-east-1"), datetime.now(timezone.utc), plan_path=plan, inventory_location=manifest)
        found = report["totals"]["objects"]
        objects = found
    else:
        config = GcConfig(bucket="ml-artifacts", manifests=(registry,), prefixes=("checkpoints/",), min_age_days=30, inventory=manifest)
        options = PlanOptions(out=Path(out), max_delete_fraction=1.0, engine=engine, spark_master="local[*]")
        result = run_plan(config, options, clients, datetime.now(timezone.utc))
        objects, found = result.stats.objects, result.stats.candidates
    seconds = time.perf_counter() - started
# the high-water mark of this process's own memory (ru_maxrss would count the forked parent's pages)
peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(seconds, objects, found, peak)
"""


def plan_run(
    manifest_path: Path,
    engine: str = "embedded",
    then: Callable[[Path], Any] | None = None,
    plan: Path | None = None,
) -> tuple[float, int, int, int, Any]:
    """(seconds, objects, candidates, peak RSS bytes, ``then(plan)``) of one `plan --inventory` in a
    child process (with Spark, the time includes starting it; the peak is the Python driver's, not the
    JVM's). Engine ``report``: `report --inventory` (by folders two deep) instead, with ``--plan plan``
    when given."""
    out = plan or manifest_path.parents[4] / f"plan-{engine}.parquet"
    env = dict(
        os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(manifest_path),
            str(manifest_path.parents[4] / "registry-mixed.txt"),
            str(out),
            engine,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if run.returncode:
        sys.exit(f"plan --inventory failed:\n{run.stderr[-3000:]}")
    seconds, objects, found, peak = run.stdout.strip().splitlines()[-1].split()
    measured = then(out) if then is not None else None
    if plan is None and out.is_dir():
        shutil.rmtree(out)
    elif plan is None:
        out.unlink(missing_ok=True)
    return float(seconds), int(objects), int(found), int(peak), measured


def after_plan(manifest_path: Path) -> Callable[[Path], tuple[float, tuple[float, int, int, int, Any]]]:
    """What is measured on the plan of N objects before it is removed: :func:`sort_floor`, and
    `report --inventory --plan` with it."""
    return lambda plan: (sort_floor(plan), plan_run(manifest_path, "report", plan=plan))


def sort_floor(plan: Path) -> float:
    """Seconds DuckDB takes, with the plan's settings (1 GB memory limit, every core), to sort the plan's
    candidates by key from an unsorted copy and write them as Parquet: the part of the plan time that
    any plan written in key order pays, whatever its mark costs."""
    import duckdb

    shuffled, again = plan.with_name("floor-shuffled.parquet"), plan.with_name("floor-sorted.parquet")
    con = duckdb.connect()
    try:
        con.execute("SET memory_limit = '1GB'")
        con.execute(f"SET temp_directory = '{plan.parent / 'floor-spill'}'")  # not the working folder
        con.execute("SET preserve_insertion_order = false")
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{plan}') ORDER BY hash(key)) TO '{shuffled}' (FORMAT parquet)"
        )
        started = time.perf_counter()
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{shuffled}') ORDER BY key) TO '{again}' (FORMAT parquet)"
        )
        return time.perf_counter() - started
    finally:
        con.close()
        shuffled.unlink(missing_ok=True)
        again.unlink(missing_ok=True)
        shutil.rmtree(plan.parent / "floor-spill", ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=int(os.environ.get("N", 20_000_000)))
    parser.add_argument("--latency-only", action="store_true", help="only the LIST and apply speed-ups")
    parser.add_argument(
        "--engine",
        choices=("embedded", "spark"),
        default=os.environ.get("ENGINE") or "embedded",
        help="spark: Spark local mode beside the embedded engine on the same inventory",
    )
    args = parser.parse_args()
    if args.latency_only:
        latency_bench()
        return 0
    if args.engine == "spark":
        spark_bench(args.objects)
        return 0
    n, small = args.objects, max(1, args.objects // 5)
    print(f"bench-scale: {n:,} objects (and {small:,} for the memory comparison); {describe_registry(n)}")
    results = {}
    for size in (small, n):
        manifest_path = generate(size)
        refresh(manifest_path)
        scan = bare_scan(manifest_path)
        seconds, objects, found, peak, after = plan_run(
            manifest_path, then=after_plan(manifest_path) if size == n else None
        )
        results[size] = (seconds, scan, peak, found, after)
        print(
            f"  {objects:,} objects: plan --inventory {seconds:.1f} s ({objects / seconds:,.0f} objects/s), "
            f"{found:,} candidates; bare DuckDB scan {scan:.2f} s; plan/scan {seconds / scan:.1f}x; "
            f"peak memory {peak / 2**20:,.0f} MiB"
        )
    seconds, scan, peak, found, (floor, with_plan) = results[n]
    print(
        f"  of which any plan in key order pays: sorting the {found:,} candidates by key and writing them, "
        f"{floor:.1f} s ({floor / scan:.1f}x the scan) in DuckDB alone"
    )
    report_seconds, objects, _, report_peak, _ = plan_run(manifest_path, "report")
    print(
        f"  {objects:,} objects: report --inventory {report_seconds:.1f} s ({objects / report_seconds:,.0f} objects/s), "
        f"report/scan {report_seconds / scan:.1f}x; peak memory {report_peak / 2**20:,.0f} MiB; "
        f"with --plan ({found:,} candidates) {with_plan[0]:.1f} s, {with_plan[3] / 2**20:,.0f} MiB"
    )
    projected = seconds * 100_000_000 / n
    print(f"projected for 100M objects: {projected:.0f} s (target <= {TARGET_SECONDS_100M} s)")
    print(f"plan time / bare scan time: {seconds / scan:.1f}x (target <= {TARGET_RATIO}x)")
    print(f"peak memory: {peak / 2**20:,.0f} MiB (target <= {TARGET_MEMORY / 2**20:,.0f} MiB)")
    flatness = (
        f"target <= {TARGET_FLATNESS}x"
        if small >= 20_000_000
        else "the target is for 20M -> 100M: N=100000000"
    )
    print(f"memory growth {small:,} -> {n:,} objects: {peak / results[small][2]:.2f}x ({flatness})")
    latency_bench()
    return 0


def spark_bench(n: int) -> None:
    """The embedded engine and Spark in local mode (all cores) on the same inventory, same candidates."""
    manifest_path = generate(n)
    refresh(manifest_path)
    scan = bare_scan(manifest_path)
    print(f"bench-scale ENGINE=spark: {n:,} objects; {describe_registry(n)}; bare DuckDB scan {scan:.2f} s")
    found = {}
    for engine in ("embedded", "spark"):
        seconds, objects, found[engine], _, _ = plan_run(manifest_path, engine)
        print(
            f"  {engine:>8}: plan --inventory {seconds:.1f} s ({objects / seconds:,.0f} objects/s), "
            f"{found[engine]:,} candidates; plan/scan {seconds / scan:.1f}x"
        )
    if found["embedded"] != found["spark"]:
        sys.exit(f"the engines disagree: {found['embedded']:,} vs {found['spark']:,} candidates")


LATENCY = 0.3  # seconds added to every request by the proxy: a far-away S3
FOLDERS, PER_FOLDER = 16, 3000  # 48,000 keys: 48 LIST pages
APPLY_OBJECTS = 12_000  # 48 batches of 250


def seed(backend: object, bucket: str, old: datetime, count: int) -> None:
    """Objects straight into the emulator's store (48,000 PUTs over HTTP would take minutes)."""
    backend.create_bucket(bucket, "us-east-1")  # type: ignore[attr-defined]
    for i in range(count):
        key = f"runs/folder-{i % FOLDERS:02d}/step-{i // FOLDERS:05d}.pt"
        stored = backend.put_object(bucket, key, b"x")  # type: ignore[attr-defined]
        stored.last_modified = old.replace(tzinfo=None)


def plan_args(bucket: str, registry: Path) -> list[str]:
    """`plan` of the runs/ folder of ``bucket``, the registry a manifest file, no delete-fraction limit."""
    return [
        "--bucket",
        bucket,
        "--manifest",
        str(registry),
        "--prefix",
        "runs/",
        "--max-delete-fraction",
        "1",
    ]


def timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "artifact_gc", *args], env=env, capture_output=True, text=True
    )
    if run.returncode:
        sys.exit(f"artifact-gc {' '.join(args[:1])} failed:\n{run.stderr[-2000:]}")
    return time.perf_counter() - started


def latency_bench() -> None:
    """LIST and apply through a proxy that adds LATENCY to each request: N at once versus one at a time."""
    sys.path.insert(0, str(REPO / "tests"))
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    from artifact_gc.local_stack import local_stack

    from fault_proxy import FaultProxy

    old = datetime.now(timezone.utc) - timedelta(days=90)
    emulator_errors = ErrorCount()
    with local_stack() as stack:
        werkzeug = logging.getLogger("werkzeug")
        werkzeug.addHandler(emulator_errors)
        werkzeug.propagate = False
        proxy = FaultProxy(stack.endpoint_url, latency=LATENCY)
        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        registry = CACHE / "latency-registry.txt"
        registry.parent.mkdir(parents=True, exist_ok=True)
        registry.write_text("s3://list-bench/keep/\n")
        env = {**os.environ, **stack.env, "AWS_ENDPOINT_URL": proxy.url}
        seed(backend, "list-bench", old, FOLDERS * PER_FOLDER)
        common = plan_args("list-bench", registry)
        out = CACHE / "latency-plan.jsonl"
        one = timed(["plan", *common, "--out", str(out), "--list-concurrency", "1"], env)
        eight = timed(["plan", *common, "--out", str(out), "--list-concurrency", "8"], env)
        print(
            f"LIST of {FOLDERS * PER_FOLDER:,} keys ({FOLDERS * PER_FOLDER // 1000} pages) at +{LATENCY * 1000:.0f} ms a request: "
            f"--list-concurrency 1 {one:.1f} s, 8 {eight:.1f} s: {one / eight:.1f}x (target >= 2x)"
        )
        results = {}
        for concurrency in ("1", "8"):
            bucket = f"apply-bench-{concurrency}"
            seed(backend, bucket, old, APPLY_OBJECTS)
            registry.write_text(f"s3://{bucket}/keep/\n")
            plan_file = CACHE / f"apply-{concurrency}.jsonl"
            timed(["plan", *plan_args(bucket, registry), "--out", str(plan_file)], env)
            results[concurrency] = timed(
                [
                    "apply",
                    str(plan_file),
                    "--yes",
                    "--max-delete-fraction",
                    "1",
                    "--batch-size",
                    "250",
                    "--concurrency",
                    concurrency,
                    "--audit",
                    str(plan_file) + ".audit.jsonl",
                ],
                env,
            )
        print(
            f"apply of {APPLY_OBJECTS:,} objects in batches of 250 at +{LATENCY * 1000:.0f} ms a request: "
            f"--concurrency 1 {results['1']:.1f} s, 8 {results['8']:.1f} s: {results['1'] / results['8']:.1f}x (target >= 3x)"
        )
        proxy.stop()
    if emulator_errors.count:
        print(
            f"  (the emulator answered {emulator_errors.count} requests with an internal error: moto is not "
            "thread-safe under concurrent LIST and DELETE; the GC retried them, as it retries S3's 500s)"
        )


class ErrorCount(logging.Handler):
    """Counts the emulator's request errors instead of printing their tracebacks amid the figures."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


if __name__ == "__main__":
    sys.exit(main())
