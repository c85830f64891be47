"""--list-concurrency: the same plan as one ListObjects loop, every key listed exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from artifact_gc.collect.planfile import iter_candidates, read_header
from artifact_gc.collect.planner import PlanOptions, raise_if_refused, run_plan
from artifact_gc.config import GcConfig

from conftest import BUCKET, TABLE, World

# Folders deeper than the split depth, direct objects between sub-folders at every level, more folders
# than the workers split into, a scope prefix without a slash that also reaches a sibling folder.
KEYS = (
    [f"models/run-{i:02d}/step-{j}/w.bin" for i in range(25) for j in range(3)]
    + ["models/a.txt", "models/run-05.txt", "models/zz.txt", "models/run-03/notes.md"]
    + ["models/deep/1/2/3/4/5/6/x.bin", "models/deep/1/2/3/y.bin", "models/deep/1/z.bin"]
    + ["models-prod/x.bin", "models/ü é/+%.bin", "models/run-07/step-1/keep.lock"]
)


def fill(world: World) -> None:
    for key in KEYS:
        world.put(key, age_days=30)
    world.put("models/young/w.bin", age_days=1)
    world.register(f"s3://{BUCKET}/models/run-1")  # mid-name: keeps run-10 ... run-19 too
    world.register(f"s3://{BUCKET}/models/deep/1/2/")
    if world.s3.get_bucket_versioning(Bucket=BUCKET).get("Status") == "Enabled":
        world.s3.delete_object(Bucket=BUCKET, Key="models/run-02/step-0/w.bin")  # a latest delete marker


def plan(world: World, out: Path, concurrency: int, prefixes: tuple[str, ...]) -> Path:
    result = run_plan(
        GcConfig(bucket=BUCKET, registry_tables=(TABLE,), prefixes=prefixes),
        PlanOptions(out=out, keep_globs=("*.lock",), max_delete_fraction=1.0, list_concurrency=concurrency),
        world.clients(),
        world.now,
    )
    raise_if_refused(result)
    return out


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
@pytest.mark.parametrize("prefixes", [("models/",), ("models",), ("",)], ids=["folder", "no-slash", "bucket"])
def test_a_parallel_plan_is_the_sequential_plan(
    tmp_path: Path, versioned: bool, prefixes: tuple[str, ...]
) -> None:
    with mock_aws():
        world = World(versioned=versioned)
        fill(world)
        sequential = plan(world, tmp_path / "one.jsonl", 1, prefixes)
        clients = world.clients()
        seen = listed_keys(clients)
        parallel = tmp_path / "par.jsonl"
        result = run_plan(
            GcConfig(bucket=BUCKET, registry_tables=(TABLE,), prefixes=prefixes),
            PlanOptions(out=parallel, keep_globs=("*.lock",), max_delete_fraction=1.0, list_concurrency=3),
            clients,
            world.now,
        )
        raise_if_refused(result)
        assert [c.obj for c in iter_candidates(parallel)] == [c.obj for c in iter_candidates(sequential)]
        assert [c.prefix for c in iter_candidates(parallel)] == [
            c.prefix for c in iter_candidates(sequential)
        ]
        assert read_header(parallel)["totals"] == read_header(sequential)["totals"]
        assert len(list(iter_candidates(parallel))) > 40
        # every key in the scope was listed, and none twice
        assert {k for k in KEYS if k.startswith(prefixes[0])} <= {key for key, _ in seen}
        assert [k for k, n in seen.items() if n > 1] == []


def listed_keys(clients: Any) -> Counter[tuple[str, str | None]]:
    """How often each entry (key, version) came back from a listing request."""
    seen: Counter[tuple[str, str | None]] = Counter()

    def record(parsed: dict[str, Any], **_: Any) -> None:
        for listing in ("Contents", "Versions", "DeleteMarkers"):
            seen.update((entry["Key"], entry.get("VersionId")) for entry in parsed.get(listing, ()))

    clients.s3.meta.events.register("after-call.s3.ListObjectsV2", record)
    clients.s3.meta.events.register("after-call.s3.ListObjectVersions", record)
    return seen


@pytest.mark.parametrize("concurrency", [1, 3])
@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
def test_a_listing_plan_ending_in_parquet_is_parquet_with_the_same_candidates(
    tmp_path: Path, concurrency: int, versioned: bool
) -> None:
    with mock_aws():
        world = World(versioned=versioned)
        fill(world)
        lines = plan(world, tmp_path / "plan.jsonl", concurrency, ("models/",))
        columnar = plan(world, tmp_path / "plan.parquet", concurrency, ("models/",))
    assert columnar.read_bytes()[:4] == b"PAR1"  # not JSON Lines under a .parquet name
    assert [c.obj for c in iter_candidates(columnar)] == [c.obj for c in iter_candidates(lines)]
    assert [c.prefix for c in iter_candidates(columnar)] == [c.prefix for c in iter_candidates(lines)]
    header = read_header(columnar)
    assert header["totals"] == read_header(lines)["totals"]
    assert header["totals"]["candidates"] == len(list(iter_candidates(columnar))) > 40
