"""make bench: mark throughput against the seed article's matcher, measured in the same run.

1,000,000 synthetic keys (an ML layout, sorted as S3 lists them) against 10,000 registry references.
The seed article's matcher (every key against every reference with ``startswith``) is timed on a subset
of the same keys, since it would take hours on all of them. Results are reported as keys per second
and as a ratio; the targets are informative, this script never fails on them.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import datetime, timedelta, timezone

from artifact_gc import ReferenceSet
from artifact_gc.collect.mark import KeepRules, MarkStats, mark
from artifact_gc.collect.object_info import ObjectInfo

BUCKET = "ml-artifacts"
TARGET_KEYS_PER_SECOND = 1_000_000
TARGET_RATIO = 1_000


def synthetic_bucket(n_keys: int, n_refs: int, seed: int = 1) -> tuple[list[ObjectInfo], list[str]]:
    rng = random.Random(seed)
    old = datetime(2025, 1, 1, tzinfo=timezone.utc)
    runs = max(1, n_keys // 40)
    keys = sorted(
        f"checkpoints/project-{(i // 40) % 50:02d}/run-{i // 40:06d}/step-{(i % 40) // 4 * 1000}/shard-{i % 4:05d}.pt"
        for i in range(n_keys)
    )
    objects = [
        ObjectInfo(k, 1_000_000 + (i % 997), old - timedelta(days=i % 300), '"etag"')
        for i, k in enumerate(keys)
    ]
    spellings = [
        "s3://ml-artifacts/{}/",
        "s3a://ml-artifacts/{}",
        "{}/",
        "https://ml-artifacts.s3.amazonaws.com/{}/",
    ]
    existing = sorted({k.rsplit("/", 2)[0] for k in keys})  # checkpoints/project-NN/run-NNNNNN
    refs = []
    for i in range(n_refs):
        if i % 2:  # half the references point at runs that exist, half at runs long gone
            run_prefix = rng.choice(existing)
        else:
            run_prefix = f"checkpoints/project-{rng.randrange(50):02d}/run-{runs + rng.randrange(runs):06d}"
        refs.append(rng.choice(spellings).format(run_prefix))
    return objects, refs


def seed_registered_paths(refs: list[str]) -> set[str]:
    """The seed article's normalisation: strip ``s3://bucket/`` and drop everything else."""
    prefix = f"s3://{BUCKET}/"
    return {r[len(prefix) :] for r in refs if r.startswith(prefix)}


def all_registered_paths(refs: list[str]) -> set[str]:
    """Every reference as a bare key, so the seed matcher is timed on the same amount of work as ours."""
    from artifact_gc.refs.uris import parse_reference

    return {loc.key for ref in refs for loc in parse_reference(ref, BUCKET)}


def seed_matcher(objects: list[ObjectInfo], registered: set[str], cutoff: datetime) -> list[ObjectInfo]:
    """The seed article's loop, verbatim in substance: every key against every registered path."""
    garbage = []
    for obj in objects:
        if obj.last_modified > cutoff:
            continue
        is_referenced = False
        for reg_path in registered:
            if obj.key.startswith(reg_path) or obj.key == reg_path:
                is_referenced = True
                break
        if not is_referenced:
            garbage.append(obj)
    return garbage


def time_mark(
    objects: list[ObjectInfo], refs: ReferenceSet, cutoff: datetime, repeats: int
) -> tuple[float, int]:
    best = float("inf")
    found = 0
    keep = KeepRules()
    for _ in range(repeats):
        stats = MarkStats()
        start = time.perf_counter()
        found = 0
        for i in range(0, len(objects), 1000):  # S3 pages hold at most 1,000 keys
            found += len(mark(objects[i : i + 1000], refs, cutoff, keep, stats))
        best = min(best, time.perf_counter() - start)
    return best, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--refs", type=int, default=10_000)
    parser.add_argument("--seed-subset", type=int, default=2_000, help="keys the seed matcher is timed on")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    print(f"Generating {args.keys:,} keys and {args.refs:,} references ...", flush=True)
    objects, uris = synthetic_bucket(args.keys, args.refs)
    cutoff = datetime(2026, 1, 1, tzinfo=timezone.utc)
    start = time.perf_counter()
    refs = ReferenceSet.from_uris(uris, BUCKET)
    build = time.perf_counter() - start

    elapsed, found = time_mark(objects, refs, cutoff, args.repeats)
    ours = len(objects) / elapsed

    step = max(1, len(objects) // args.seed_subset)
    subset = objects[::step][: args.seed_subset]
    start = time.perf_counter()
    seed_matcher(subset, all_registered_paths(uris), cutoff)
    seed_elapsed = time.perf_counter() - start
    seed_rate = len(subset) / seed_elapsed
    our_subset = {o.key for o in mark(subset, refs, cutoff, KeepRules(), MarkStats())}
    seed_garbage = seed_matcher(subset, seed_registered_paths(uris), cutoff)  # with its own normalisation
    would_lose = sum(1 for o in seed_garbage if refs.protects(o.key))

    ratio = ours / seed_rate
    print(
        f"ReferenceSet build: {args.refs:,} references in {build * 1000:.0f} ms ({len(refs):,} prefix-free)"
    )
    print(
        f"mark:         {len(objects):,} keys in {elapsed:.2f} s = {ours:,.0f} keys/s "
        f"({found:,} candidates)   target >= {TARGET_KEYS_PER_SECOND:,}: {'met' if ours >= TARGET_KEYS_PER_SECOND else 'MISSED'}"
    )
    print(
        f"seed matcher: {len(subset):,} keys in {seed_elapsed:.2f} s = {seed_rate:,.0f} keys/s "
        f"(same {args.refs:,} references, same machine, same run)"
    )
    print(
        f"ratio:        {ratio:,.0f}x   target >= {TARGET_RATIO:,}x: {'met' if ratio >= TARGET_RATIO else 'MISSED'}"
    )
    print(
        f"correctness on the subset: with its own normalisation (s3:// only) the seed matcher would delete "
        f"{would_lose} referenced objects; ours marks {len(our_subset)} candidates, none referenced"
    )


if __name__ == "__main__":
    main()
