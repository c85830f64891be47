"""The SQL registry source on SQLite: every value of the query's first column protects; anything odd
refuses the run; no password is ever recorded; apply re-reads it."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from artifact_gc.cli import app
from artifact_gc.collect.apply import ApplyOptions, execute_apply, prepare_apply
from artifact_gc.collect.planner import PlanOptions, raise_if_refused, run_plan
from artifact_gc.config import GcConfig
from artifact_gc.errors import ReferenceParseError, RegistryError, UsageError
from artifact_gc.registry.sql import SqlSource

from conftest import BUCKET, World

QUERY = "SELECT uri FROM models WHERE stage != 'deleted'"


def database(tmp_path: Path, *rows: tuple[object, str]) -> Path:
    path = tmp_path / "registry.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE IF NOT EXISTS models (uri TEXT, stage TEXT)")
        db.executemany("INSERT INTO models VALUES (?, ?)", rows)
    return path


def config(url: str, query: str = QUERY) -> GcConfig:
    return GcConfig(bucket=BUCKET, prefixes=("models/",), registry_sql=((url, query),))


def seed(world: World) -> None:
    for name in ("prod", "staging", "old", "deleted"):
        world.put(f"models/{name}/w.bin")


def test_rows_protect_and_the_plan_records_the_source(world: World, tmp_path: Path) -> None:
    seed(world)
    db = database(tmp_path, (f"s3://{BUCKET}/models/prod/", "prod"), ("models/staging/", "staging"),
                  ("models/deleted/", "deleted"))  # fmt: skip
    out = tmp_path / "plan.jsonl"
    result = run_plan(
        config(f"sqlite:///{db}"), PlanOptions(out=out, max_delete_fraction=1.0), world.clients(), world.now
    )
    raise_if_refused(result)
    keys = [json.loads(line)["key"] for line in out.read_text().splitlines()[1:]]
    assert keys == ["models/deleted/w.bin", "models/old/w.bin"]
    (spec,) = result.header["registry"]["sources"]
    assert spec == {"type": "sql", "url": f"sqlite:///{db}", "query": QUERY}
    assert result.header["registry"]["source_counts"][f"sql:sqlite:///{db}"]["references"] == 2


def test_env_var_urls_are_read_at_plan_and_apply_and_never_recorded(
    world: World, tmp_path: Path, monkeypatch
) -> None:
    seed(world)
    db = database(tmp_path, ("models/prod/", "prod"))
    monkeypatch.setenv("REGISTRY_DB", f"sqlite:///{db}")
    out = tmp_path / "plan.jsonl"
    raise_if_refused(
        run_plan(
            config("env:REGISTRY_DB"),
            PlanOptions(out=out, max_delete_fraction=1.0),
            world.clients(),
            world.now,
        )
    )
    assert str(db) not in out.read_text().splitlines()[0]
    with sqlite3.connect(db) as conn:  # registered between plan and apply
        conn.execute("INSERT INTO models VALUES ('models/old/', 'prod')")
    options = ApplyOptions(audit_path=tmp_path / "audit.jsonl", max_delete_fraction=1.0)
    prepared = prepare_apply(out, GcConfig(), options, world.clients(), datetime.now(timezone.utc))
    result = execute_apply(prepared, world.clients(), options, sleep=lambda s: None)
    assert "models/old/w.bin" in world.listed_keys() and result.newly_protected == ["models/old/w.bin"]
    assert "models/staging/w.bin" not in world.listed_keys()


@pytest.mark.parametrize(
    ("rows", "query", "error", "says"),
    [
        ([(None, "prod")], QUERY, ReferenceParseError, "row 1 of the query: value None is not a string"),
        ([("models/prod/", "prod")], "SELECT 42", ReferenceParseError, "value 42 is not a string"),
        ([("models/prod/", "prod")], "SELECT uri FROM no_such_table", RegistryError, "the query failed"),
        ([("models/prod/", "prod")], "SELEKT nonsense", RegistryError, "the query failed"),
        ([("runs:/abc/model", "prod")], QUERY, ReferenceParseError, "sql:sqlite:"),
    ],
)
def test_anything_odd_refuses_the_run(world: World, tmp_path: Path, rows, query, error, says) -> None:
    seed(world)
    db = database(tmp_path, *rows)
    with pytest.raises(error, match=says):
        run_plan(
            config(f"sqlite:///{db}", query),
            PlanOptions(out=tmp_path / "p.jsonl"),
            world.clients(),
            world.now,
        )
    assert len(world.listed_keys()) == 4


def test_a_missing_sqlite_file_is_refused_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    with pytest.raises(RegistryError, match="does not exist"):
        list(SqlSource(f"sqlite:///{missing}", QUERY).references())
    assert not missing.exists()
    with pytest.raises(RegistryError, match="REGISTRY_DB_UNSET is not set"):
        list(SqlSource("env:REGISTRY_DB_UNSET", QUERY).references())


def test_a_url_with_a_password_is_refused_before_connecting(world: World, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="env:VAR"):
        run_plan(
            config("postgresql://gc:s3cret@db.internal/registry"),
            PlanOptions(out=tmp_path / "p.jsonl"),
            world.clients(),
            world.now,
        )
    result = CliRunner().invoke(
        app,
        ["plan", "--bucket", BUCKET, "--prefix", "models/", "--out", str(tmp_path / "p.jsonl"),
         "--registry-sql", "postgresql://gc:s3cret@db.internal/registry", "--registry-query", QUERY],
    )  # fmt: skip
    assert result.exit_code == 2 and "s3cret" not in result.output


def test_the_cli_pairs_urls_with_queries(world: World, tmp_path: Path) -> None:
    seed(world)
    db = database(tmp_path, ("models/prod/", "prod"))
    base = [
        "plan",
        "--bucket",
        BUCKET,
        "--prefix",
        "models/",
        "--out",
        str(tmp_path / "p.jsonl"),
        "--max-delete-fraction",
        "1",
    ]
    unpaired = CliRunner().invoke(app, [*base, "--registry-sql", f"sqlite:///{db}"])
    assert unpaired.exit_code == 2 and "as pairs" in unpaired.output
    paired = CliRunner().invoke(app, [*base, "--registry-sql", f"sqlite:///{db}", "--registry-query", QUERY])
    assert paired.exit_code == 0, paired.output
