"""The Terraform half, offline: fmt, `terraform test`, provider schema, checkov, and the emulator round trip."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest

from artifact_gc.errors import UsageError
from artifact_gc.terraform.lifecycle_preview import evaluate_lifecycle
from artifact_gc.terraform.runner import run_terraform

from conftest import BUCKET, World

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(p.parent for p in REPO.glob("modules/**/versions.tf"))
PREVIEW = REPO / "terraform" / "lifecycle-preview"
SCHEMA = json.loads((REPO / "tests" / "fixtures" / "aws_provider_schema.json").read_text())
TF_FILES = sorted([*REPO.glob("modules/**/*.tf"), *REPO.glob("terraform/**/*.tf")])
META_ARGUMENTS = {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"}


def test_terraform_fmt() -> None:
    code, out, err = run_terraform(["fmt", "-check", "-recursive", "-diff", "-no-color"], REPO)
    assert code == 0, f"terraform fmt would change:\n{out}{err}"


@pytest.mark.parametrize(
    "module", [m for m in MODULES if (m / "tests").is_dir()], ids=lambda m: str(m.relative_to(REPO))
)
def test_terraform_test(module: Path, tmp_path: Path) -> None:
    env = {"TF_DATA_DIR": str(tmp_path / "data")}
    code, out, err = run_terraform(
        ["init", "-backend=false", "-input=false", "-no-color"], module, extra_env=env
    )
    assert code == 0, out + err
    code, out, err = run_terraform(["test", "-no-color"], module, extra_env=env)
    assert code == 0, out + err
    summary = re.search(r"(\d+) passed, (\d+) failed", out)
    assert summary and int(summary[1]) > 0 and summary[2] == "0", out


def test_every_provider_less_module_has_terraform_tests() -> None:
    provider_less = [m for m in MODULES if "required_providers" not in (m / "versions.tf").read_text()]
    assert [str(m.relative_to(REPO)) for m in provider_less] == [
        "modules/gc-iam/policies",
        "modules/lifecycle-policy",
    ]
    for module in provider_less:
        assert list((module / "tests").glob("*.tftest.hcl")), f"{module} has no terraform test files"


@pytest.mark.parametrize("module", [m for m in MODULES if m.parent.name == "modules"], ids=lambda m: m.name)
def test_module_layout_and_documentation(module: Path) -> None:
    """terraform-aws-modules conventions: the four files and a README; typed, described variables."""
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (module / name).is_file(), f"{module.name} lacks {name}"
    variables = hcl2.load((module / "variables.tf").open()).get("variable", [])
    assert variables
    readme = (module / "README.md").read_text()
    for block in variables:
        ((name, body),) = block.items()
        name = name.strip('"')
        assert body.get("description") and body.get("type"), (
            f"{module.name}: variable {name} needs a type and a description"
        )
        assert f"`{name}`" in readme, f"{module.name}/README.md does not document input {name}"
    for block in hcl2.load((module / "outputs.tf").open()).get("output", []):
        ((name, body),) = block.items()
        assert body.get("description"), f"{module.name}: output {name} needs a description"
        assert f"`{name.strip(chr(34))}`" in readme, (
            f"{module.name}/README.md does not document output {name}"
        )


# ------------------------------------------------------------------------------------- provider schema


def _is_block(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and v.get("__is_block__") for v in value)
    )


def _check_body(body: dict[str, Any], schema: dict[str, Any], where: str, problems: list[str]) -> None:
    for key, value in body.items():
        if key.startswith("__") or key in META_ARGUMENTS:
            continue
        if key == "dynamic":
            for entry in value:
                for label, dynamic in entry.items():
                    name = label.strip('"')
                    if name not in schema["blocks"]:
                        problems.append(
                            f"{where}: dynamic block {name!r} is not a block of the provider schema"
                        )
                        continue
                    for content in dynamic.get("content", []):
                        _check_body(content, schema["blocks"][name], f"{where}.{name}", problems)
        elif _is_block(value):
            if key not in schema["blocks"]:
                problems.append(f"{where}: block {key!r} is not in the provider schema")
                continue
            for block in value:
                _check_body(block, schema["blocks"][key], f"{where}.{key}", problems)
        elif key not in schema["attributes"]:
            problems.append(f"{where}: argument {key!r} is not in the provider schema")


def test_resources_use_only_arguments_and_blocks_of_the_aws_provider() -> None:
    problems: list[str] = []
    checked = 0
    for path in TF_FILES:
        document = hcl2.load(path.open())
        for section, kind in (("resource", "resources"), ("data", "data_sources")):
            for block in document.get(section, []):
                for type_label, instances in block.items():
                    rtype = type_label.strip('"')
                    assert rtype in SCHEMA[kind], (
                        f"{path}: {rtype} missing from the schema fixture; re-run scripts/extract_provider_schema.py"
                    )
                    for name, body in instances.items():
                        _check_body(
                            body,
                            SCHEMA[kind][rtype],
                            f"{path.relative_to(REPO)}: {rtype}.{name.strip(chr(34))}",
                            problems,
                        )
                        checked += 1
    assert checked >= 13
    assert not problems, "\n".join(problems)


def test_references_read_attributes_the_provider_has() -> None:
    problems = []
    for path in TF_FILES:
        text = path.read_text()
        for prefix, kind in ((r"(?<![\w.])", "resources"), (r"\bdata\.", "data_sources")):
            for rtype, attribute in re.findall(prefix + r"(aws_\w+)\.\w+\.(\w+)", text):
                if (
                    attribute not in SCHEMA[kind][rtype]["readable"]
                    and attribute not in SCHEMA[kind][rtype]["attributes"]
                ):
                    problems.append(f"{path.relative_to(REPO)}: {rtype} has no attribute {attribute!r}")
    assert not problems, "\n".join(problems)


def test_schema_check_catches_a_misspelt_argument() -> None:
    """The checker itself: a typo in an argument or block name is reported."""
    body = hcl2.loads(
        'resource "aws_s3_bucket_versioning" "x" {\n  bucket = "b"\n  versioning_configuraton {\n    status = "Enabled"\n  }\n}\n'
    )
    problems: list[str] = []
    _check_body(
        body["resource"][0]['"aws_s3_bucket_versioning"']['"x"'],
        SCHEMA["resources"]["aws_s3_bucket_versioning"],
        "x",
        problems,
    )
    assert problems == ["x: block 'versioning_configuraton' is not in the provider schema"]


# ---------------------------------------------------------------------------------------------- checkov


def _checkov() -> str:
    binary = os.environ.get("ARTIFACT_GC_CHECKOV") or str(REPO / ".venv-tools" / "bin" / "checkov")
    assert Path(binary).is_file(), (
        f"checkov not found at {binary}: run `make test`, which installs it into .venv-tools"
    )
    return binary


def _json_documents(text: str) -> list[dict[str, Any]]:
    decoder, documents, index = json.JSONDecoder(), [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        document, index = decoder.raw_decode(text, index)
        documents += document if isinstance(document, list) else [document]
    return documents


def test_checkov_finds_no_failed_checks() -> None:
    done = subprocess.run(
        [
            _checkov(),
            "-d",
            "modules",
            "-d",
            "terraform",
            "--framework",
            "terraform",
            "--skip-download",
            "--quiet",
            "-o",
            "json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    reports = _json_documents(done.stdout)  # one report per -d, possibly printed back to back
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})"
        for r in reports
        for c in r["results"]["failed_checks"]
    ]
    assert not failed, "checkov failures:\n" + "\n".join(failed)
    assert sum(r["summary"]["passed"] for r in reports) > 30
    assert done.returncode == 0, done.stderr[-2000:]


def test_every_checkov_skip_carries_a_reason() -> None:
    skips = [
        (path, line) for path in TF_FILES for line in path.read_text().splitlines() if "checkov:skip=" in line
    ]
    assert skips
    for path, line in skips:
        assert re.search(r"checkov:skip=CKV2?_AWS_\d+:\S.{20,}", line), (
            f"{path}: skip without a reason: {line.strip()}"
        )


# ------------------------------------------------------------------------- lifecycle: one source of truth


def test_dev_lifecycle_round_trips_through_the_emulator(world: World) -> None:
    preview = evaluate_lifecycle(PREVIEW, REPO / "terraform" / "envs" / "dev.tfvars")
    sent: list[dict] = []
    world.s3.meta.events.register(
        "provide-client-params.s3.PutBucketLifecycleConfiguration",
        lambda params, **kw: sent.append(copy.deepcopy(params["LifecycleConfiguration"])),
    )
    world.s3.put_bucket_lifecycle_configuration(
        Bucket=BUCKET,
        LifecycleConfiguration=preview.configuration,
        TransitionDefaultMinimumObjectSize=preview.transition_default_minimum_object_size,
    )
    back = world.s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)
    assert sent == [preview.configuration]
    # moto 5 keeps NewerNoncurrentVersions for noncurrent transitions only, not for NoncurrentVersionExpiration:
    # that emulator gap must be the one and only difference.
    expected = copy.deepcopy(preview.configuration["Rules"])
    dropped = [
        rule["NoncurrentVersionExpiration"].pop("NewerNoncurrentVersions")
        for rule in expected
        if "NewerNoncurrentVersions" in rule.get("NoncurrentVersionExpiration", {})
    ]
    assert dropped == [3]  # the models tier of dev.tfvars
    assert back["Rules"] == expected
    assert back["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"
    ids = [rule["ID"] for rule in back["Rules"]]
    assert ids == [
        "tier-checkpoints/",
        "tier-experiments/failed/",
        "tier-models/",
        "housekeeping",
        "quarantine",
    ]


def test_prod_lifecycle_never_expires_models_by_age() -> None:
    preview = evaluate_lifecycle(PREVIEW, REPO / "terraform" / "envs" / "prod.tfvars")
    models = next(rule for rule in preview.configuration["Rules"] if rule["ID"] == "tier-models/")
    assert "Expiration" not in models
    assert models["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90, "NewerNoncurrentVersions": 5}
    assert preview.warnings == []


def test_the_seed_articles_checkpoint_tier_is_refused_at_plan_time(tmp_path: Path) -> None:
    tfvars = tmp_path / "seed.tfvars"
    tfvars.write_text(
        'tiers = { "checkpoints/" = { standard_ia_days = 14, glacier_ir_days = 60, expire_days = 180 } }\n'
    )
    with pytest.raises(
        UsageError, match=r'STANDARD_IA before 30 days.*"checkpoints/" has standard_ia_days = 14'
    ):
        evaluate_lifecycle(PREVIEW, tfvars)


def test_misspelt_tier_field_is_refused(tmp_path: Path) -> None:
    tfvars = tmp_path / "typo.tfvars"
    tfvars.write_text('tiers = { "models/" = { expire_day = 30 } }\n')
    with pytest.raises(UsageError, match="expire_day"):
        evaluate_lifecycle(PREVIEW, tfvars)
