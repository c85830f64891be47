"""Configuration: flags/env > Terraform gc_config; reading Terraform outputs live or saved."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from artifact_gc.config import GcConfig, normalise_prefixes, parse_duration, resolve_config
from artifact_gc.errors import UsageError
from artifact_gc.local_stack import gc_config_outputs
from artifact_gc.terraform.outputs import gc_config_from_document, load_saved_outputs, read_live_outputs

TF = {
    "bucket": "tf-bucket",
    "region": "eu-west-1",
    "registry_table": "tf-table",
    "gc_prefixes": ["a/", "b/"],
    "min_age_days": 14,
    "path_attribute": "uri",
    "role_arn": "ignored:extra-keys-are-fine",
}


def test_terraform_values_fill_what_flags_leave_out() -> None:
    config = resolve_config({}, TF)
    assert config == GcConfig("tf-bucket", "eu-west-1", ("tf-table",), ("uri",), (), ("a/", "b/"), 14)


def test_flags_win_over_terraform() -> None:
    config = resolve_config(
        {"bucket": "flag-bucket", "prefixes": ["c/"], "min_age_days": 0, "registry_tables": []}, TF
    )
    assert (config.bucket, config.prefixes, config.min_age_days) == ("flag-bucket", ("c/",), 0)
    assert config.registry_tables == ("tf-table",)  # an empty list means "not given"


def test_defaults_without_terraform() -> None:
    config = resolve_config({"bucket": "b"}, None)
    assert config.effective_min_age_days == 7
    assert config.effective_path_attributes == ("s3_path",)
    assert config.prefixes is None


@pytest.mark.parametrize(
    ("tf", "message"),
    [
        ({**TF, "min_age_days": "seven"}, "min_age_days"),
        ({**TF, "min_age_days": 1.5}, "min_age_days"),
        ({**TF, "gc_prefixes": [1, 2]}, "gc_prefixes"),
        ({**TF, "bucket": 3}, "bucket"),
    ],
)
def test_bad_gc_config_values_name_the_key(tf: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        resolve_config({}, tf)


def test_negative_min_age_is_refused() -> None:
    with pytest.raises(UsageError, match="--min-age-days"):
        resolve_config({"min_age_days": -1}, None)


def test_saved_outputs_accept_full_document_or_value(tmp_path: Path) -> None:
    full = tmp_path / "full.json"
    full.write_text(json.dumps(gc_config_outputs("b", "t")))
    value = tmp_path / "value.json"
    value.write_text(json.dumps({"bucket": "b", "gc_prefixes": []}))
    assert load_saved_outputs(full)["registry_table"] == "t"
    assert load_saved_outputs(value)["bucket"] == "b"


@pytest.mark.parametrize("content", ["not json", "[]", '{"other_output": {"value": 1}}'])
def test_saved_outputs_errors_are_usage_errors(tmp_path: Path, content: str) -> None:
    path = tmp_path / "o.json"
    path.write_text(content)
    with pytest.raises(UsageError, match="--tf-outputs"):
        load_saved_outputs(path)
    with pytest.raises(UsageError, match="--tf-outputs"):
        load_saved_outputs(tmp_path / "missing.json")


def _fake_terraform(tmp_path: Path, body: str) -> str:
    """A stand-in terraform/tofu binary: records its arguments and prints what we tell it to."""
    script = tmp_path / "tofu"
    script.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/args\ncd "$PWD"\n{body}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_live_outputs_run_terraform_output_json_in_the_directory(tmp_path: Path) -> None:
    document = json.dumps(gc_config_outputs("live-bucket", "live-table"))
    binary = _fake_terraform(tmp_path, f"pwd > {tmp_path}/cwd; cat <<'EOF'\n{document}\nEOF")
    tf_dir = tmp_path / "stack"
    tf_dir.mkdir()
    assert read_live_outputs(tf_dir, binary)["bucket"] == "live-bucket"
    assert (tmp_path / "args").read_text().split()[:2] == ["output", "-json"]
    assert (tmp_path / "cwd").read_text().strip() == str(tf_dir)


def test_live_outputs_failures_are_one_line_usage_errors(tmp_path: Path) -> None:
    binary = _fake_terraform(tmp_path, "echo 'Error: No outputs found' >&2; exit 1")
    with pytest.raises(UsageError, match="No outputs found"):
        read_live_outputs(tmp_path, binary)
    with pytest.raises(UsageError, match="not found on PATH"):
        read_live_outputs(tmp_path, "no-such-terraform-binary")
    with pytest.raises(UsageError, match="no such directory"):
        read_live_outputs(tmp_path / "nope", binary)


def test_document_without_bucket_is_refused() -> None:
    with pytest.raises(UsageError):
        gc_config_from_document({"gc_config": {"value": {"region": "x"}}}, "here")


def test_normalise_prefixes_drops_covered_ones() -> None:
    assert normalise_prefixes(["models/a/", "models/", "checkpoints/", "models/"]) == (
        "checkpoints/",
        "models/",
    )
    assert normalise_prefixes(["x/", ""]) == ("",)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("24h", 86400), ("2d", 172800), ("1.5h", 5400)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text, "--max-plan-age") == seconds


def test_parse_duration_rejects_garbage() -> None:
    with pytest.raises(UsageError, match="--max-plan-age"):
        parse_duration("a day", "--max-plan-age")


def test_the_inventory_comes_from_gc_config_and_an_empty_flag_lists_instead() -> None:
    from artifact_gc.config import resolve_config
    from artifact_gc.errors import UsageError

    tf = {"bucket": "b", "inventory": "s3://dest/inventory/b/artifact-gc-daily/", "max_inventory_age": 72}
    config = resolve_config({}, tf)
    assert (config.inventory, config.max_inventory_age) == ("s3://dest/inventory/b/artifact-gc-daily/", "72h")
    assert resolve_config({"inventory": ""}, tf).inventory == ""  # plan lists: no inventory
    assert resolve_config({}, {"bucket": "b", "max_inventory_age": "2d"}).max_inventory_age == "2d"
    with pytest.raises(UsageError, match=r"gc_config\.max_inventory_age"):
        resolve_config({}, {"bucket": "b", "max_inventory_age": [1]})
