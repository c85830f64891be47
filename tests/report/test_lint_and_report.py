"""lint-policy on known-bad and known-good configurations; the report on a moto bucket in every format."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from artifact_gc.cli.app import app
from artifact_gc.collect.planfile import header_digest
from artifact_gc.cost.lifecycle_lint import BucketFacts, lint
from artifact_gc.local_stack import backdate
from artifact_gc.render.storage_report import append_history, render_html, render_markdown
from artifact_gc.report.build import lifecycle_from_file, load_prices, run_report

from conftest import BUCKET, TABLE, World

REPO = Path(__file__).resolve().parents[2]

SEED_RULES = {
    "Rules": [
        {
            "ID": "tiered-storage-models",
            "Filter": {"Prefix": "models/"},
            "Status": "Enabled",
            "Transitions": [
                {"Days": 30, "StorageClass": "STANDARD_IA"},
                {"Days": 90, "StorageClass": "GLACIER_IR"},
            ],
            "Expiration": {"Days": 365},
        },
        {
            "ID": "tiered-storage-checkpoints",
            "Filter": {"Prefix": "checkpoints/"},
            "Status": "Enabled",
            "Transitions": [
                {"Days": 14, "StorageClass": "STANDARD_IA"},
                {"Days": 60, "StorageClass": "GLACIER_IR"},
            ],
            "Expiration": {"Days": 180},
        },
    ]
}


def checks(configuration, facts=BucketFacts()) -> set[tuple[str, str, str]]:
    return {(f.severity, f.check, f.rule_id) for f in lint(configuration, facts)}


def test_lint_flags_the_seed_articles_checkpoint_tier() -> None:
    found = checks(SEED_RULES, BucketFacts(versioned=True))
    assert ("error", "ia-too-soon", "tiered-storage-checkpoints") in found
    assert ("warning", "no-abort-multipart", "-") in found
    assert ("warning", "no-noncurrent-expiration", "-") in found
    assert not any(f[2] == "tiered-storage-models" for f in found)


def rule(**fields):
    return {"ID": "r", "Status": "Enabled", "Filter": {"Prefix": "p/"}, **fields}


@pytest.mark.parametrize(
    ("configuration", "expected"),
    [
        (
            {
                "Rules": [
                    rule(
                        Transitions=[
                            {"Days": 90, "StorageClass": "GLACIER_IR"},
                            {"Days": 60, "StorageClass": "GLACIER"},
                        ]
                    )
                ]
            },
            "transition-order",
        ),
        (
            {
                "Rules": [
                    rule(
                        Transitions=[
                            {"Days": 30, "StorageClass": "STANDARD_IA"},
                            {"Days": 45, "StorageClass": "GLACIER"},
                        ]
                    )
                ]
            },
            "ia-gap",
        ),
        (
            {"Rules": [rule(Transitions=[{"Days": 90, "StorageClass": "GLACIER"}], Expiration={"Days": 90})]},
            "expire-before-transition",
        ),
        ({"Rules": [rule(Expiration={"Days": 0})]}, "days"),
        ({"Rules": [rule(Expiration={"Days": 9, "ExpiredObjectDeleteMarker": True})]}, "expiration"),
        (
            {
                "Rules": [
                    {
                        "ID": "r",
                        "Status": "Enabled",
                        "Filter": {"Tag": {"Key": "k", "Value": "v"}},
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                    }
                ]
            },
            "tag-filter",
        ),
        ({"Rules": [rule()]}, "no-action"),
        ({"Rules": [{"ID": "x" * 256, "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 3}}]}, "id"),
        ({"Rules": [{"ID": "r", "Status": "On", "Filter": {}, "Expiration": {"Days": 3}}]}, "status"),
        ({"Rules": [{"ID": "r", "Status": "Enabled", "Expiration": {"Days": 3}}]}, "filter"),
        ({"Rules": [rule(Expiration={"Days": 3}), rule(Expiration={"Days": 4})]}, "duplicate-id"),
        (
            {
                "Rules": [
                    rule(NoncurrentVersionExpiration={"NoncurrentDays": 3, "NewerNoncurrentVersions": 101})
                ]
            },
            "noncurrent",
        ),
        ({"Rules": [{**rule(Expiration={"Days": 3}), "ID": f"r{i}"} for i in range(1001)]}, "rule-count"),
        ({"Rules": "nope"}, "shape"),
    ],
)
def test_lint_errors(configuration, expected: str) -> None:
    assert ("error", expected) in {(s, c) for s, c, _ in checks(configuration)}


def test_lint_cost_warnings() -> None:
    early = {
        "Rules": [rule(Transitions=[{"Days": 0, "StorageClass": "GLACIER_IR"}], Expiration={"Days": 30})]
    }
    assert ("warning", "early-deletion", "r") in checks(early)
    overlap = {
        "Rules": [
            rule(Expiration={"Days": 30}),
            {**rule(Expiration={"Days": 60}), "ID": "s", "Filter": {"Prefix": "p/q/"}},
        ]
    }
    assert ("warning", "overlap", "r, s") in checks(overlap)
    transitions = {"Rules": [rule(Transitions=[{"Days": 30, "StorageClass": "STANDARD_IA"}])]}
    assert ("warning", "small-objects", "r") in checks(
        transitions, BucketFacts(transition_default_minimum_object_size="varies_by_storage_class")
    )
    assert ("info", "small-objects", "r") in checks(
        transitions, BucketFacts(small_objects_by_prefix=(("p/", 12),))
    )


def test_our_own_lifecycle_documents_lint_clean() -> None:
    for env in ("dev", "prod"):
        result = CliRunner().invoke(
            app,
            [
                "lint-policy",
                "--tfvars",
                str(REPO / "terraform" / "envs" / f"{env}.tfvars"),
                "--preview-dir",
                str(REPO / "terraform" / "lifecycle-preview"),
                "--format",
                "json",
            ],
        )
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        assert report["errors"] == 0
        assert not [f for f in report["findings"] if f["severity"] == "warning"]


def test_lint_policy_cli_exit_codes(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(SEED_RULES))
    result = CliRunner().invoke(app, ["lint-policy", "--file", str(seed), "--versioned"])
    assert result.exit_code == 3
    assert "tiered-storage-checkpoints: transition to STANDARD_IA after 14 days" in " ".join(
        result.output.split()
    )
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {"lifecycle_configuration": {"value": {"Rules": SEED_RULES["Rules"][:1]}, "type": "object"}}
        )
    )
    assert CliRunner().invoke(app, ["lint-policy", "--file", str(outputs)]).exit_code == 0
    assert CliRunner().invoke(app, ["lint-policy"]).exit_code == 2
    assert CliRunner().invoke(app, ["lint-policy", "--file", str(seed), "--tfvars", str(seed)]).exit_code == 2
    bad = tmp_path / "bad.json"
    bad.write_text('{"rules": []}')
    result = CliRunner().invoke(app, ["lint-policy", "--file", str(bad)])
    assert result.exit_code == 2 and "no lifecycle configuration" in result.output


def test_lint_policy_on_the_live_bucket(world: World) -> None:
    world.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    world.s3.put_bucket_lifecycle_configuration(
        Bucket=BUCKET,
        LifecycleConfiguration={
            "Rules": [
                {"ID": "x", "Status": "Enabled", "Filter": {"Prefix": "a/"}, "Expiration": {"Days": 30}}
            ]
        },
    )
    result = CliRunner().invoke(app, ["lint-policy", "--bucket", BUCKET, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert {f["check"] for f in json.loads(result.output)["findings"]} >= {
        "no-noncurrent-expiration",
        "no-abort-multipart",
    }


# ------------------------------------------------------------------------------------------------ report


def plan_checkpoints(world: World, plan_path: Path) -> None:
    """A GC plan of checkpoints/ (7 days), for the report's scenario (d)."""
    from artifact_gc.collect.planner import PlanOptions, run_plan
    from artifact_gc.config import GcConfig

    run_plan(
        GcConfig(bucket=BUCKET, registry_tables=(TABLE,), prefixes=("checkpoints/",), min_age_days=7),
        PlanOptions(out=plan_path, max_delete_fraction=1.0),
        world.clients(),
        world.now,
    )


def planned_with_lifecycle(world: World, plan_path: Path) -> list[dict]:
    """fill(), a noncurrent version under checkpoints/, a plan of checkpoints/ and a lifecycle rule for
    them (transition, noncurrent expiration): every scenario of the projection has work to do."""
    fill(world)
    world.put("checkpoints/run-1/step-1/shard-0.pt", age_days=3)  # a noncurrent version below it
    world.register("models/")
    plan_checkpoints(world, plan_path)
    rules = [
        {
            "ID": "t",
            "Status": "Enabled",
            "Filter": {"Prefix": "checkpoints/"},
            "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}],
            "NoncurrentVersionExpiration": {"NoncurrentDays": 10},
        }
    ]
    world.s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": rules})
    return rules


def fill(world: World) -> None:
    world.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    world.put("checkpoints/run-1/a.pt", age_days=100, body=b"x" * 200_000)
    world.put("checkpoints/run-1/b.pt", age_days=100, body=b"x" * 200_000, storage_class="STANDARD_IA")
    world.put("models/m/v1/w.bin", age_days=10, body=b"y" * 300_000, storage_class="GLACIER_IR")
    world.put("models/m/v1/w.bin", age_days=5, body=b"z" * 100_000)  # the v1 weights above become noncurrent
    world.put("README", age_days=1, body=b"r")
    world.put("checkpoints/run-1/gone.pt", age_days=50, body=b"g" * 10)
    world.s3.delete_object(
        Bucket=BUCKET, Key="checkpoints/run-1/gone.pt"
    )  # a delete marker; the data is noncurrent
    world.s3.create_multipart_upload(Bucket=BUCKET, Key="checkpoints/run-2/big.pt")
    upload = world.s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"][0]
    world.s3.upload_part(
        Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"], PartNumber=1, Body=b"p" * 5_000
    )
    world.s3.put_bucket_lifecycle_configuration(
        Bucket=BUCKET,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "ckpt",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "checkpoints/"},
                    "Expiration": {"Days": 120},
                }
            ]
        },
    )


def test_report_counts_and_costs(world: World) -> None:
    fill(world)
    report = run_report(world.clients(), BUCKET, ("",), 1, load_prices("us-east-1"), world.now)
    rows = {(r["group"], r["storage_class"]): (r["count"], r["bytes"]) for r in report["current"]}
    assert rows == {
        ("checkpoints/", "STANDARD"): (1, 200_000),
        ("checkpoints/", "STANDARD_IA"): (1, 200_000),
        ("models/", "STANDARD"): (1, 100_000),
        ("(root)", "STANDARD"): (1, 1),
    }
    totals = report["totals"]
    assert (totals["noncurrent_objects"], totals["noncurrent_bytes"]) == (2, 300_010)
    assert (totals["delete_markers"], totals["incomplete_uploads"], totals["incomplete_upload_bytes"]) == (
        1,
        1,
        5_000,
    )
    gib = 2**30
    expected = (0.023 * 300_001 + 0.0125 * 200_000) / gib
    assert totals["monthly_cost"] == pytest.approx(expected)
    noncurrent = {r["storage_class"]: r["monthly_cost"] for r in report["noncurrent"]}
    assert noncurrent == {
        "GLACIER_IR": pytest.approx(0.004 * 300_000 / gib),
        "STANDARD": pytest.approx(0.023 * 10 / gib),
    }
    names = [s["name"] for s in report["projection"]["scenarios"]]
    assert names == ["a", "b"]
    b = report["projection"]["scenarios"][1]
    # the checkpoints expire at 120 days: from month 2 on only models/ and README remain (plus the noncurrent version)
    assert b["months"][1]["storage"] < b["months"][0]["storage"]
    assert any(f["check"] == "no-noncurrent-expiration" for f in report["lint"])


def test_report_depth_and_prefix_scope(world: World) -> None:
    fill(world)
    report = run_report(world.clients(), BUCKET, ("checkpoints/",), 2, load_prices("us-east-1"), world.now)
    assert {r["group"] for r in report["current"]} == {"checkpoints/run-1/"}


def test_scenarios_c_and_d_from_terraform_output_and_a_plan(world: World, tmp_path: Path) -> None:

    fill(world)
    world.register("models/")
    plan_path = tmp_path / "plan.jsonl"
    plan_checkpoints(world, plan_path)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "lifecycle_configuration": {
                    "value": {
                        "Rules": [
                            {
                                "ID": "all",
                                "Status": "Enabled",
                                "Filter": {},
                                "Transitions": [{"Days": 30, "StorageClass": "GLACIER_IR"}],
                            }
                        ]
                    }
                }
            }
        )
    )
    report = run_report(
        world.clients(),
        BUCKET,
        ("",),
        1,
        load_prices("us-east-1"),
        world.now,
        lifecycle_from_file(outputs),
        plan_path,
    )
    scenarios = {s["name"]: s for s in report["projection"]["scenarios"]}
    assert list(scenarios) == ["a", "b", "c", "d"]
    assert "2 deleted" in scenarios["d"]["label"]
    assert scenarios["c"]["total_12m"] < scenarios["a"]["total_12m"]
    other = tmp_path / "other-plan.jsonl"
    lines = plan_path.read_text().splitlines()
    header = json.loads(lines[0]) | {"bucket": "another-bucket"}
    header["header_digest"] = header_digest(header)  # a genuine plan of another bucket, not an edit
    other.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    from artifact_gc.errors import UsageError

    with pytest.raises(UsageError, match="is for bucket"):
        run_report(world.clients(), BUCKET, ("",), 1, load_prices("us-east-1"), world.now, None, other)


def test_every_format_renders(world: World, tmp_path: Path) -> None:
    fill(world)
    report = run_report(world.clients(), BUCKET, ("",), 1, load_prices("us-east-1"), world.now)
    markdown = render_markdown(report)
    assert "| `checkpoints/` | STANDARD_IA | 1 |" in markdown and "### 12-month projection" in markdown
    history = append_history(tmp_path / "h.jsonl", report)
    later = {**report, "generated_at": (world.now + timedelta(days=1)).isoformat()}
    history = append_history(tmp_path / "h.jsonl", later)
    assert len(history) == 2
    html = render_html(report, history)
    assert html.count("<svg") == 6  # bytes, cost, projection, cost trend, savings trend, bytes trend
    # self-contained: nothing fetched from the network
    assert not re.search(r"<script|<link|src=|@import|url\(", html)
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg"}
    assert "Where the bytes are" in html and "Trend over past runs" in html
    json.dumps(report)  # the JSON format is the report itself


def test_report_cli(world: World, tmp_path: Path) -> None:
    fill(world)
    history = tmp_path / "history.jsonl"
    runner = CliRunner()
    result = runner.invoke(app, ["report", "--bucket", BUCKET, "--history", str(history)])
    assert result.exit_code == 0, result.output
    assert "Current versions by prefix" in result.output and "12-month projection" in result.output
    result = runner.invoke(
        app,
        [
            "report",
            "--bucket",
            BUCKET,
            "--history",
            str(history),
            "--format",
            "html",
            "--out",
            str(tmp_path / "r.html"),
        ],
    )
    assert result.exit_code == 0 and (tmp_path / "r.html").read_text().startswith("<!doctype html>")
    assert len(history.read_text().splitlines()) == 2
    result = runner.invoke(app, ["report", "--bucket", BUCKET, "--no-history", "--format", "json"])
    assert json.loads(result.output)["kind"] == "artifact-gc-report"
    assert len(history.read_text().splitlines()) == 2
    for args, message in [
        (["--depth", "0"], "--depth"),
        (["--format", "pdf"], "--format"),
        (["--prices", str(tmp_path / "nope.json")], "--prices"),
        (["--proposed", str(tmp_path / "a"), "--proposed-tfvars", str(tmp_path / "b")], "choose one"),
    ]:
        result = runner.invoke(app, ["report", "--bucket", BUCKET, "--no-history", *args])
        assert result.exit_code == 2 and message in result.output, (args, result.output)
    backdate(BUCKET, "README", world.now)


def test_small_and_large_objects_in_one_group_are_billed_separately(world: World) -> None:
    """A 10 KB object in Standard-IA is billed as 128 KB even beside a 1 MB one (no averaging)."""
    world.put("data/small.bin", age_days=40, body=b"s" * 10_240, storage_class="STANDARD_IA")
    world.put("data/large.bin", age_days=40, body=b"l" * 1_048_576, storage_class="STANDARD_IA")
    report = run_report(world.clients(), BUCKET, ("",), 1, load_prices("us-east-1"), world.now)
    (row,) = report["current"]
    assert (row["count"], row["bytes"]) == (2, 1_058_816)
    assert row["monthly_cost"] == pytest.approx(0.0125 * (131_072 + 1_048_576) / 2**30)


def test_lint_policy_reads_the_terraform_output(tmp_path: Path) -> None:
    """--tf-dir runs `terraform output -json` there and lints its lifecycle_configuration output."""
    import stat

    document = json.dumps({"lifecycle_configuration": {"value": SEED_RULES, "type": "object"}})
    binary = tmp_path / "tofu"
    binary.write_text(f"#!/bin/sh\ncat <<'EOF'\n{document}\nEOF\n")
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    result = CliRunner().invoke(
        app, ["lint-policy", "--tf-dir", str(tmp_path), "--terraform-bin", str(binary)]
    )
    assert result.exit_code == 3
    assert "terraform outputs in" in result.output and "ia-too-soon" in result.output


def test_lint_notes_disabled_rules_missing_marker_cleanup_and_the_rule_count() -> None:
    disabled = {"Rules": [{"ID": "off", "Status": "Disabled", "Filter": {}, "Expiration": {"Days": 400}}]}
    assert ("info", "disabled", "off") in checks(disabled)
    versioned = {
        "Rules": [
            {
                "ID": "nc",
                "Status": "Enabled",
                "Filter": {},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
            }
        ]
    }
    assert ("info", "delete-markers", "-") in checks(versioned, BucketFacts(versioned=True))
    with_markers = {
        "Rules": [
            {
                "ID": "nc",
                "Status": "Enabled",
                "Filter": {},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                "Expiration": {"ExpiredObjectDeleteMarker": True},
            }
        ]
    }
    assert ("info", "delete-markers", "-") not in checks(with_markers, BucketFacts(versioned=True))

    def rules(n: int) -> dict:
        return {
            "Rules": [
                {
                    "ID": f"r{i}",
                    "Status": "Enabled",
                    "Filter": {"Prefix": f"p{i}/"},
                    "Expiration": {"Days": 400},
                }
                for i in range(n)
            ]
        }

    near = {f for f in checks(rules(950)) if f[1] == "rule-count"}
    assert near == {("warning", "rule-count", "-")}
    assert {f for f in checks(rules(1001)) if f[1] == "rule-count"} == {("error", "rule-count", "-")}
    assert not {f for f in checks(rules(10)) if f[1] == "rule-count"}


LIFECYCLE_CORPUS = yaml.safe_load((Path(__file__).parent / "data" / "lifecycle_documents.yaml").read_text())


@pytest.mark.parametrize("case", LIFECYCLE_CORPUS, ids=[c["name"][:60] for c in LIFECYCLE_CORPUS])
def test_lint_agrees_with_s3_on_documented_examples(case: dict) -> None:
    errors = {c for s, c, _ in checks(case["document"]) if s == "error"}
    if case.get("valid"):
        assert not errors, case["name"]
    else:
        assert set(case["errors"]) <= errors, (case["name"], errors)


def test_no_negative_stays_in_early_deletion_warnings() -> None:
    rules = {
        "Rules": [rule(Transitions=[{"Days": 30, "StorageClass": "STANDARD_IA"}], Expiration={"Days": 25})]
    }
    found = lint(rules)
    assert any(f.check == "expire-before-transition" for f in found)
    assert not any(f.check == "early-deletion" and " -" in f.message for f in found)


def test_the_one_pass_report_projects_what_the_per_object_replay_projects(
    versioned_world: World, tmp_path: Path
) -> None:
    """The report fills every scenario while it lists (nothing kept per version); on a small bucket its
    projections equal the per-object computation: every version listed first, then replayed per scenario."""
    from artifact_gc.collect.planfile import iter_candidates
    from artifact_gc.cost.simulate import build_population, project
    from artifact_gc.objects.versions import Inventory, scan_versions

    world = versioned_world
    plan_path = tmp_path / "plan.jsonl"
    rules = planned_with_lifecycle(world, plan_path)
    prices = load_prices("us-east-1")
    report = run_report(world.clients(), BUCKET, ("",), 1, prices, world.now, None, plan_path)
    records = [r.as_tuple() for r in scan_versions(world.s3, BUCKET, ("",), world.now, Inventory(depth=1))]
    candidates = frozenset(c.obj.key for c in iter_candidates(plan_path))
    assert candidates and any(r[4] for r in records)  # the case has deletions and noncurrent versions
    expected = {
        "a": project(build_population(records, []), prices, "a", "a"),
        "b": project(build_population(records, rules), prices, "b", "b"),
        "d": project(
            build_population(records, rules, candidates, deleted_become_noncurrent=True), prices, "d", "d"
        ),
    }
    scenarios = {s["name"]: s for s in report["projection"]["scenarios"]}
    for name, projection in expected.items():
        assert [m["total"] for m in scenarios[name]["months"]] == pytest.approx(
            [m.total for m in projection.months]
        )
        assert [m["bytes_by_class"] for m in scenarios[name]["months"]] == [
            m.bytes_by_class for m in projection.months
        ]


@pytest.mark.parametrize("file_format", ["CSV", "ORC", "Parquet"])
def test_a_report_from_an_inventory_equals_a_report_from_listing(
    versioned_world: World, tmp_path: Path, file_format: str
) -> None:
    from inventory_builder import bucket_rows, write_delivery

    world = versioned_world
    fill(world)
    world.put("checkpoints/run-1/step-1/shard-0.pt", age_days=3)  # a noncurrent version below it
    world.s3.delete_object(Bucket=BUCKET, Key="checkpoints/run-2/step-1/shard-0.pt")  # a delete marker
    prices = load_prices("us-east-1")
    listed = run_report(world.clients(), BUCKET, ("",), 2, prices, world.now)
    manifest = write_delivery(
        tmp_path / "dest", bucket_rows(world.s3, BUCKET, True), BUCKET, file_format, True, world.now
    )
    read = run_report(world.clients(), BUCKET, ("",), 2, prices, world.now, inventory_location=str(manifest))
    for part in ("current", "noncurrent", "totals", "projection"):
        assert read[part] == listed[part], part


def inventory_report(world: World, manifest: Path, plan: Path | None = None) -> dict:
    """`report --inventory MANIFEST [--plan PLAN]` of the whole bucket, by top-level folder."""
    prices = load_prices("us-east-1")
    return run_report(
        world.clients(), BUCKET, ("",), 1, prices, world.now, None, plan, inventory_location=str(manifest)
    )


@pytest.mark.parametrize("plan_name", ["plan.jsonl", "plan.parquet"])
def test_a_report_from_an_inventory_deletes_the_plan_as_a_listed_report_does(
    versioned_world: World, tmp_path: Path, plan_name: str
) -> None:
    """Scenario (d) from an inventory: the plan's keys go to a table DuckDB joins, not a walk beside it."""
    from inventory_builder import bucket_rows, write_delivery

    world = versioned_world
    plan_path = tmp_path / plan_name
    planned_with_lifecycle(world, plan_path)
    prices = load_prices("us-east-1")
    listed = run_report(world.clients(), BUCKET, ("",), 1, prices, world.now, None, plan_path)
    manifest = write_delivery(
        tmp_path / "dest", bucket_rows(world.s3, BUCKET, True), BUCKET, "Parquet", True, world.now
    )
    read = inventory_report(world, manifest, plan_path)
    scenarios = {s["name"]: s for s in read["projection"]["scenarios"]}
    assert scenarios["d"]["total_12m"] < scenarios["b"]["total_12m"]  # the plan deletes something
    for part in ("current", "noncurrent", "totals", "projection"):
        assert read[part] == listed[part], part


def test_a_report_refuses_inventory_rows_without_a_date(versioned_world: World, tmp_path: Path) -> None:
    from artifact_gc.errors import SafetyError

    from inventory_builder import bucket_rows, write_delivery

    world = versioned_world
    fill(world)
    rows = bucket_rows(world.s3, BUCKET, True)
    rows[0]["last_modified_date"] = None
    manifest = write_delivery(tmp_path / "dest", rows, BUCKET, "Parquet", True, world.now)
    with pytest.raises(SafetyError, match=r"^inventory .*: 1 rows have no key or no last-modified date"):
        inventory_report(world, manifest)


def test_documented_lifecycle_examples_are_of_the_rule_shape() -> None:
    """AWS's own examples (valid or semantically wrong) never trip the shape check, which is about types
    only; the shapes other SDKs hand users (numbers as text, an empty prefix as a list) do."""
    from artifact_gc.cost.lifecycle import rule_shape_problems

    for case in LIFECYCLE_CORPUS:
        problems = [
            problem
            for index, rule in enumerate(case["document"]["Rules"])
            for problem in rule_shape_problems(rule, f"Rules[{index}]")
        ]
        assert bool(problems) == ("shape" in case.get("errors", ())), (case["name"], problems)


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        (None, "Rules[0] is null, not an object"),
        ({"Filter": "logs/"}, "Rules[0].Filter is a string, not an object"),
        (
            {"Filter": {"ObjectSizeGreaterThan": "128"}},
            "Rules[0].Filter.ObjectSizeGreaterThan is a string, not a whole number",
        ),
        (
            {"Filter": {"And": {"Tags": [{"Key": 1}]}}},
            "Rules[0].Filter.And.Tags[0].Key is a number, not a string",
        ),
        (
            {"Transitions": [{"Days": True}]},
            "Rules[0].Transitions[0].Days is true or false, not a whole number",
        ),
        ({"Transitions": {"Days": 30}}, "Rules[0].Transitions is an object, not a list"),
        (
            {"NoncurrentVersionExpiration": True},
            "Rules[0].NoncurrentVersionExpiration is true or false, not an object",
        ),
        ({"Expiration": {"Days": 30.0}}, "Rules[0].Expiration.Days is a number, not a whole number"),
    ],
)
def test_a_rule_of_the_wrong_shape_is_named_by_lint_and_refused_by_report(
    world: World, tmp_path: Path, rule: object, problem: str
) -> None:
    path = tmp_path / "proposed.json"
    path.write_text(json.dumps({"Rules": [rule]}))
    report = CliRunner().invoke(app, ["report", "--bucket", BUCKET, "--proposed", str(path), "--no-history"])
    assert report.exit_code == 2, report.output
    assert f"{path}: {problem}, as S3 defines lifecycle rules" in " ".join(report.output.split())
    linted = CliRunner().invoke(app, ["lint-policy", "--file", str(path), "--format", "json"])
    assert linted.exit_code == 3, linted.output
    assert {"check": "shape", "message": problem} in [
        {k: f[k] for k in ("check", "message")} for f in json.loads(linted.stdout)["findings"]
    ]


def test_nulls_stand_for_absent_fields_as_in_terraform_json(world: World, tmp_path: Path) -> None:
    """A null Tag is no tag filter and a null size bound no bound: the rule expires models/ as if they
    were not written, in the projection and in the lint."""
    world.put("models/a.bin", age_days=100, body=b"x" * 10)
    rules = [
        {
            "ID": "t",
            "Status": "Enabled",
            "Filter": {"Prefix": "models/", "Tag": None},
            "Expiration": {"Days": 1, "Date": None},
            "Transitions": None,
        },
        {
            "ID": "u",
            "Status": "Enabled",
            "Filter": {"And": {"Prefix": "models/", "ObjectSizeGreaterThan": None, "Tags": None}},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        },
    ]
    path = tmp_path / "proposed.json"
    path.write_text(json.dumps({"Rules": rules}))
    report = CliRunner().invoke(
        app, ["report", "--bucket", BUCKET, "--proposed", str(path), "--no-history", "--format", "json"]
    )
    assert report.exit_code == 0, report.output
    totals = {s["name"]: s["total_12m"] for s in json.loads(report.stdout)["projection"]["scenarios"]}
    assert totals["c"] < totals["a"]  # models/a.bin expires under the proposal
    linted = CliRunner().invoke(app, ["lint-policy", "--file", str(path), "--format", "json"])
    assert linted.exit_code == 0, linted.output
    assert json.loads(linted.stdout)["errors"] == 0


def test_a_plan_folder_duckdb_cannot_join_is_named_as_the_plan(
    versioned_world: World, tmp_path: Path
) -> None:
    """A Parquet plan's keys go from its files straight into DuckDB. A folder whose empty second part has
    another schema holds no bad candidate (the plan's reader passes it) but is not one table to DuckDB:
    the refusal names the plan (exit 2), not the inventory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from artifact_gc.collect.parquet_plan import HEADER_KEY
    from artifact_gc.errors import UsageError

    from inventory_builder import bucket_rows, write_delivery

    world = versioned_world
    written = tmp_path / "written.parquet"
    planned_with_lifecycle(world, written)
    folder = tmp_path / "plan.parquet"
    folder.mkdir()
    written.rename(folder / "part-00000.parquet")
    header = pq.read_schema(folder / "part-00000.parquet").metadata[HEADER_KEY]
    empty = pa.table({"size": pa.array([], pa.int64())}).replace_schema_metadata({HEADER_KEY: header})
    pq.write_table(empty, folder / "part-00001.parquet")
    manifest = write_delivery(
        tmp_path / "dest", bucket_rows(world.s3, BUCKET, True), BUCKET, "Parquet", True, world.now
    )
    with pytest.raises(UsageError) as caught:
        inventory_report(world, manifest, folder)
    assert str(caught.value).startswith(f"plan {folder}: cannot read its keys (")
    assert str(caught.value).endswith("); plan again")
