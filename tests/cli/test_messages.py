"""Messages that match the situation (issue 13, part 5): each one says what happened, in one line."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys

from typer.testing import CliRunner

from artifact_gc.cli import app
from artifact_gc.render.run_summary import escape_key

from conftest import World


def test_a_second_apply_says_the_plan_was_already_applied(world: World, tmp_path) -> None:
    world.register("models/keep/")
    world.put("models/old/w.bin")
    plan = world.cli_plan(tmp_path / "p.jsonl")
    first = CliRunner().invoke(app, ["apply", str(plan), "--yes", "--max-delete-fraction", "1"])
    assert first.exit_code == 0 and "Deleted 1 objects" in first.output
    again = CliRunner().invoke(app, ["apply", str(plan), "--yes", "--max-delete-fraction", "1"])
    assert again.exit_code == 0, again.output
    text = " ".join(again.output.split())
    assert "This plan was already applied" in text and "interrupted" not in text


def test_quarantine_speaks_of_tagging_only(world: World, tmp_path) -> None:
    world.register("models/keep/")
    world.put("models/old/w.bin")
    plan = world.cli_plan(tmp_path / "p.jsonl")
    result = CliRunner().invoke(
        app, ["apply", str(plan), "--yes", "--max-delete-fraction", "1", "--mode", "quarantine"]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Tag 1 objects" in text and "Tagged 1 objects" in text
    assert "delete marker" not in text.lower() and "Deleted" not in text and "Permanently" not in text


def test_a_refused_plan_does_not_say_apply_with(world: World, tmp_path) -> None:
    world.register("models/keep/")
    for i in range(3):
        world.put(f"models/old{i}/w.bin")
    result = CliRunner().invoke(
        app,
        ["plan", "--bucket", "ml-artifacts-test", "--registry-table", "model-registry-test", "--prefix", "models/",
         "--out", str(tmp_path / "p.jsonl"), "--max-delete-fraction", "0.1"],
    )  # fmt: skip
    assert result.exit_code == 3
    text = " ".join(result.output.split())
    assert "Apply with" not in text and "for review only" in text


def test_keys_with_control_characters_are_shown_escaped() -> None:
    assert escape_key("models/a\nb\x1b[31m[red]") == "models/a\\nb\\x1b[31m\\[red]"  # [31m is no markup tag


def test_missing_credentials_are_not_called_an_unreachable_s3(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "artifact_gc", "plan", "--bucket", "b", "--prefix", "x/", "--registry-table", "t",
         "--out", str(tmp_path / "p.jsonl")],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "no AWS credentials found" in done.stderr and "cannot reach S3" not in done.stderr


def test_network_retries_are_announced(caplog) -> None:
    from artifact_gc.aws import AwsClients, AwsSettings

    clients = AwsClients(AwsSettings(region="us-east-1", endpoint_url="http://127.0.0.1:9", max_attempts=2))
    with caplog.at_level(logging.WARNING, logger="artifact_gc.retries"), contextlib.suppress(Exception):
        clients.s3.list_buckets()
    assert any("retrying ListBuckets after attempt 1" in r.getMessage() for r in caplog.records)


def test_brackets_in_a_message_are_printed_not_read_as_markup() -> None:
    """An install hint (artifact-gc[mlflow]) or a key like models/[draft]/ must reach the user intact."""
    import typer

    from artifact_gc.cli.options import guarded
    from artifact_gc.errors import UsageError

    def fail() -> None:
        raise UsageError("pip install 'artifact-gc[inventory]' for s3://b/models/[draft]/x")

    app_ = typer.Typer()
    app_.command()(lambda: guarded(fail))
    result = CliRunner().invoke(app_, [])
    assert result.exit_code == 2
    assert "pip install 'artifact-gc[inventory]' for s3://b/models/[draft]/x" in result.output
