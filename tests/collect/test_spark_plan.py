"""`plan --engine spark`: the embedded engine's candidates and counts, from Spark in local mode, for CSV, ORC
and Parquet deliveries, versioned or not; the plan folder it writes is applied; the refusals hold on Spark."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from artifact_gc.collect.planfile import read_header
from artifact_gc.collect.planner import PlanOptions, raise_if_refused, run_plan

from conftest import BUCKET, World
from inventory_builder import bucket_rows, write_delivery

pytest.importorskip("pyspark")

from test_inventory_plan import CONFIG, candidates, populate  # noqa: E402


def spark_plan(world: World, out: Path, **config: Any) -> Path:
    result = run_plan(
        replace(CONFIG, **config),
        PlanOptions(
            out=out,
            keep_globs=("*.lock",),
            max_delete_fraction=1.0,
            engine="spark",
            spark_master="local[2]",
        ),
        world.clients(),
        world.now,
    )
    raise_if_refused(result)
    return out


@pytest.mark.parametrize("file_format", ["CSV", "ORC", "Parquet"])
def test_spark_plans_the_embedded_engines_candidates(world: World, tmp_path: Path, file_format: str) -> None:
    populate(world)
    manifest = write_delivery(
        tmp_path / "dest", bucket_rows(world.s3, BUCKET, False), BUCKET, file_format, False, world.now
    )
    from test_inventory_plan import plan

    embedded = plan(world, tmp_path / "embedded.jsonl", inventory=str(manifest))
    spark = spark_plan(world, tmp_path / "spark.parquet", inventory=str(manifest))
    assert candidates(spark) == candidates(embedded)
    assert read_header(spark)["totals"] == read_header(embedded)["totals"]
