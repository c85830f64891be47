"""tf-gate: every rule with a failing and a passing plan, unknown values, malformed input, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from artifact_gc.cli.app import app
from artifact_gc.errors import UsageError
from artifact_gc.gate.rules import DEFAULT_POLICY, evaluate, floor_for, load_plan, load_policy
from artifact_gc.render.gate_summary import render_markdown
from artifact_gc.terraform.runner import run_terraform

from plan_fixtures import (
    BUCKET_ARN,
    lifecycle_rule,
    lifecycle_values,
    plan,
    resource_change,
    role_policy,
    trust,
)

REPO = Path(__file__).resolve().parents[2]
POLICY = load_policy((REPO / "terraform" / "gate-policy.yaml").read_text())
LC = "module.bucket.aws_s3_bucket_lifecycle_configuration.this"


def findings(*changes, policy=POLICY) -> list[tuple[str, str]]:
    return [(f.rule, f.severity) for f in evaluate(plan(*changes), policy).findings]


# ------------------------------------------------------------------------------ protected resources


@pytest.mark.parametrize(
    "rtype",
    ["aws_s3_bucket", "aws_dynamodb_table", "aws_s3_bucket_versioning", "aws_s3_bucket_public_access_block"],
)
def test_deleting_a_protected_resource_fails(rtype: str) -> None:
    assert findings(resource_change(f"module.x.{rtype}.this", rtype, ["delete"], before={"id": "x"})) == [
        ("protected-resource-destroyed", "error")
    ]


def test_replacing_the_registry_table_fails_and_says_why() -> None:
    change = resource_change(
        "module.registry.aws_dynamodb_table.this",
        "aws_dynamodb_table",
        ["delete", "create"],
        before={"name": "old"},
        after={"name": "new"},
        replace_paths=[["name"]],
    )
    result = evaluate(plan(change), POLICY)
    assert [f.message for f in result.errors] == ["plan would replace aws_dynamodb_table (forced by name)"]


def test_creating_updating_or_deleting_other_things_passes() -> None:
    assert (
        findings(
            resource_change(
                "module.bucket.aws_s3_bucket.this",
                "aws_s3_bucket",
                ["create"],
                after={"bucket": "b", "force_destroy": False},
            ),
            resource_change(
                "module.registry.aws_dynamodb_table.this",
                "aws_dynamodb_table",
                ["update"],
                before={"name": "t"},
                after={"name": "t"},
            ),
            resource_change(
                "aws_s3_bucket_inventory.this[0]", "aws_s3_bucket_inventory", ["delete"], before={"name": "i"}
            ),
            resource_change("aws_iam_role.old", "aws_iam_role", ["no-op"], before={}, after={}),
        )
        == []
    )


# --------------------------------------------------------------------------------------- bucket settings


@pytest.mark.parametrize(
    ("before", "after", "unknown", "expected"),
    [
        ({"force_destroy": False}, {"force_destroy": True}, {}, [("force-destroy-enabled", "error")]),
        (None, {"force_destroy": True}, {}, [("force-destroy-enabled", "error")]),
        (
            {"force_destroy": False},
            {"force_destroy": None},
            {"force_destroy": True},
            [("force-destroy-enabled", "error")],
        ),
        ({"force_destroy": False}, {"force_destroy": False}, {}, []),
        ({"force_destroy": True}, {"force_destroy": True}, {}, []),  # already on: not turned on by this plan
    ],
)
def test_force_destroy(before, after, unknown, expected) -> None:
    actions = ["create"] if before is None else ["update"]
    assert (
        findings(
            resource_change(
                "module.bucket.aws_s3_bucket.this", "aws_s3_bucket", actions, before, after, unknown
            )
        )
        == expected
    )


@pytest.mark.parametrize(
    ("status", "unknown", "expected"),
    [
        ("Suspended", {}, [("versioning-suspended", "error")]),
        ("Disabled", {}, [("versioning-suspended", "error")]),
        (None, {"versioning_configuration": [{"status": True}]}, [("versioning-suspended", "error")]),
        (None, {"versioning_configuration": True}, [("versioning-suspended", "error")]),
        ("Enabled", {"versioning_configuration": [{}]}, []),
    ],
)
def test_versioning(status, unknown, expected) -> None:
    change = resource_change(
        "module.bucket.aws_s3_bucket_versioning.this",
        "aws_s3_bucket_versioning",
        ["update"],
        before={"versioning_configuration": [{"status": "Enabled"}]},
        after={"versioning_configuration": [{"status": status, "mfa_delete": None}]},
        after_unknown=unknown,
    )
    assert findings(change) == expected


def test_public_access_block() -> None:
    on = dict.fromkeys(
        ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"], True
    )
    address = "module.bucket.aws_s3_bucket_public_access_block.this"
    assert findings(resource_change(address, "aws_s3_bucket_public_access_block", ["update"], on, on)) == []
    weakened = {**on, "restrict_public_buckets": False}
    assert findings(
        resource_change(address, "aws_s3_bucket_public_access_block", ["update"], on, weakened)
    ) == [("public-access-weakened", "error")]
    unknown = resource_change(
        address,
        "aws_s3_bucket_public_access_block",
        ["update"],
        on,
        {**on, "block_public_acls": None},
        {"block_public_acls": True},
    )
    assert findings(unknown) == [("public-access-weakened", "error")]


# -------------------------------------------------------------------------------------------- lifecycle


def lifecycle_change(before_rules, after_rules, unknown=None, actions=("update",)):
    before = lifecycle_values(*before_rules) if before_rules is not None else None
    after = lifecycle_values(*after_rules) if after_rules is not None else None
    return resource_change(LC, "aws_s3_bucket_lifecycle_configuration", list(actions), before, after, unknown)


CHECKPOINTS = lifecycle_rule(
    "tier-checkpoints/", "checkpoints/", 180, transitions=[(30, "STANDARD_IA"), (60, "GLACIER_IR")]
)
MODELS = lifecycle_rule("tier-models/", "models/", None, transitions=[(60, "STANDARD_IA")])
QUARANTINE = lifecycle_rule("quarantine", tag=("artifact-gc", "condemned"), days=14)


def test_unchanged_or_safe_lifecycle_passes() -> None:
    assert (
        findings(lifecycle_change([CHECKPOINTS, MODELS, QUARANTINE], [CHECKPOINTS, MODELS, QUARANTINE])) == []
    )
    assert findings(lifecycle_change(None, [CHECKPOINTS, MODELS, QUARANTINE], actions=("create",))) == []


def test_removing_or_disabling_a_rule_fails() -> None:
    assert findings(lifecycle_change([CHECKPOINTS, MODELS], [CHECKPOINTS])) == [
        ("lifecycle-rule-removed", "error")
    ]
    disabled = {**MODELS, "status": "Disabled"}
    assert findings(lifecycle_change([CHECKPOINTS, MODELS], [CHECKPOINTS, disabled])) == [
        ("lifecycle-rule-removed", "error")
    ]
    assert findings(lifecycle_change([CHECKPOINTS], None, actions=("delete",))) == [
        ("lifecycle-rule-removed", "error")
    ]


def test_expiration_below_the_floor_fails() -> None:
    short_models = lifecycle_rule("tier-models/", "models/", 30)
    assert findings(lifecycle_change([MODELS], [short_models])) == [("expiration-below-floor", "error")]
    # a whole-bucket rule reaches models/ too, so the models/ floor applies
    whole = lifecycle_rule("everything", "", 90)
    result = evaluate(plan(lifecycle_change([], [whole])), POLICY)
    assert [(f.rule, f.message) for f in result.errors] == [
        (
            "expiration-below-floor",
            "lifecycle rule 'everything' expires objects under '' after 90 days, below the 365-day floor for 'models/'",
        )
    ]


def test_quarantine_rule_is_exempt_but_other_tag_rules_are_not() -> None:
    other_tag = lifecycle_rule("scratch", tag=("team", "scratch"), days=3)
    assert findings(lifecycle_change([], [QUARANTINE])) == []
    assert findings(lifecycle_change([], [other_tag])) == [("expiration-below-floor", "error")]


def test_shortening_above_the_floor_is_a_warning_and_passes() -> None:
    shorter = lifecycle_rule(
        "tier-checkpoints/", "checkpoints/", 90, transitions=[(30, "STANDARD_IA"), (60, "GLACIER_IR")]
    )
    result = evaluate(plan(lifecycle_change([CHECKPOINTS], [shorter])), POLICY)
    assert [(f.rule, f.severity) for f in result.findings] == [("expiration-shortened", "warning")]
    assert result.passed
    assert [(r.rule_id, r.before, r.after) for r in result.lifecycle_changes] == [
        (
            "tier-checkpoints/",
            "prefix 'checkpoints/': 30 d → STANDARD_IA, 60 d → GLACIER_IR, expire 180 d",
            "prefix 'checkpoints/': 30 d → STANDARD_IA, 60 d → GLACIER_IR, expire 90 d",
        )
    ]


def test_unknown_lifecycle_values_are_never_safe() -> None:
    unknown_days = {"rule": [{"expiration": [{"days": True}]}]}
    assert findings(lifecycle_change([CHECKPOINTS], [CHECKPOINTS], unknown=unknown_days)) == [
        ("expiration-below-floor", "error")
    ]
    assert findings(lifecycle_change([CHECKPOINTS], [], unknown={"rule": True})) == [
        ("lifecycle-rule-removed", "error")
    ]


def test_floor_for_takes_the_strictest_overlapping_prefix() -> None:
    floors = {"": 7, "models/": 365, "models/tmp/": 30}
    assert floor_for("models/tmp/x/", floors) == (365, "models/")
    assert floor_for("checkpoints/", floors) == (7, "")
    assert floor_for("", floors) == (365, "models/")


# ------------------------------------------------------------------------------------------------- IAM


RUNNER = "module.gc_iam.aws_iam_role_policy.runner"


@pytest.mark.parametrize(
    ("statement", "ok"),
    [
        (
            {"Effect": "Allow", "Action": ["s3:DeleteObject"], "Resource": [f"{BUCKET_ARN}/checkpoints/*"]},
            True,
        ),
        ({"Effect": "Allow", "Action": "s3:*", "Resource": f"{BUCKET_ARN}/models/*"}, True),
        ({"Effect": "Deny", "Action": "s3:DeleteObject", "NotResource": [f"{BUCKET_ARN}/models/*"]}, True),
        ({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}, True),
        ({"Effect": "Allow", "Action": ["s3:DeleteObject"], "Resource": [f"{BUCKET_ARN}/*"]}, False),
        ({"Effect": "Allow", "Action": ["s3:Delete*"], "Resource": "*"}, False),
        ({"Effect": "Allow", "Action": "*", "Resource": f"{BUCKET_ARN}/mod*"}, False),
        (
            {
                "Effect": "Allow",
                "Action": "s3:DeleteObjectVersion",
                "NotResource": [f"{BUCKET_ARN}/models/*"],
            },
            False,
        ),
    ],
)
def test_gc_policy_deletes_only_inside_its_prefixes(statement, ok: bool) -> None:
    change = resource_change(
        RUNNER,
        "aws_iam_role_policy",
        ["update"],
        {},
        role_policy("artifact-gc-runner", "artifact-gc-prod-runner", [statement]),
    )
    assert findings(change) == ([] if ok else [("gc-delete-outside-prefixes", "error")])


def test_policies_that_are_not_the_gcs_are_not_judged() -> None:
    wide = role_policy(
        "data-team", "data-team-role", [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]
    )
    assert (
        findings(resource_change("aws_iam_role_policy.data", "aws_iam_role_policy", ["create"], None, wide))
        == []
    )


def test_unknown_gc_policy_is_refused() -> None:
    change = resource_change(
        RUNNER,
        "aws_iam_role_policy",
        ["create"],
        None,
        {"name": "artifact-gc-runner", "role": "artifact-gc-prod-runner", "policy": None},
        {"policy": True},
    )
    assert findings(change) == [("gc-delete-outside-prefixes", "error")]


OIDC = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


@pytest.mark.parametrize(
    ("statement", "ok"),
    [
        (
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"AWS": ["arn:aws:iam::123456789012:role/ci"]},
            },
            True,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {"Federated": OIDC},
                "Condition": {
                    "StringLike": {
                        "token.actions.githubusercontent.com:sub": ["repo:acme/ml-infra:ref:refs/heads/main"]
                    }
                },
            },
            True,
        ),
        ({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": "*"}, False),
        ({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "*"}}, False),
        ({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "arn:aws:iam::*:root"}}, False),
        (
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {"Federated": OIDC},
                "Condition": {
                    "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
                },
            },
            False,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {"Federated": OIDC},
                "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*"}},
            },
            False,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {"Federated": OIDC},
                "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:*"}},
            },
            False,
        ),
    ],
)
def test_trust_policies(statement, ok: bool) -> None:
    change = resource_change(
        "module.gc_iam.aws_iam_role.runner", "aws_iam_role", ["update"], {}, trust([statement])
    )
    assert findings(change) == ([] if ok else [("wildcard-trust", "error")])


def test_unknown_trust_policy_is_refused() -> None:
    change = resource_change(
        "module.gc_iam.aws_iam_role.runner",
        "aws_iam_role",
        ["create"],
        None,
        {"name": "r", "assume_role_policy": None},
        {"assume_role_policy": True},
    )
    assert findings(change) == [("wildcard-trust", "error")]


def test_our_own_gc_iam_policies_pass_the_gate(tmp_path: Path) -> None:
    """The documents the gc-iam module renders (evaluated by Terraform, offline) satisfy the gate."""
    module = REPO / "modules" / "gc-iam" / "policies"
    env = {"TF_DATA_DIR": str(tmp_path / "data")}
    assert run_terraform(["init", "-backend=false", "-input=false"], module, extra_env=env)[0] == 0
    code, out, err = run_terraform(
        [
            "plan",
            "-input=false",
            "-lock=false",
            f"-out={tmp_path / 'p'}",
            "-var=bucket_name=acme-ml-artifacts-prod",
            '-var=gc_prefixes=["checkpoints/","experiments/","models/"]',
            "-var=registry_table_arn=arn:aws:dynamodb:eu-west-1:123456789012:table/registry",
            '-var=github_oidc={provider_arn="' + OIDC + '",subjects=["repo:acme/ml-infra:environment:prod"]}',
        ],
        module,
        extra_env=env,
    )
    assert code == 0, out + err
    outputs = json.loads(run_terraform(["show", "-json", str(tmp_path / "p")], module, extra_env=env)[1])[
        "planned_values"
    ]["outputs"]
    changes = [
        resource_change(
            "module.gc_iam.aws_iam_role_policy.runner",
            "aws_iam_role_policy",
            ["create"],
            None,
            {
                "name": "artifact-gc-runner",
                "role": "artifact-gc-prod-runner",
                "policy": outputs["runner_policy_json"]["value"],
            },
        ),
        resource_change(
            "module.gc_iam.aws_iam_role_policy.planner",
            "aws_iam_role_policy",
            ["create"],
            None,
            {
                "name": "artifact-gc-planner",
                "role": "artifact-gc-prod-planner",
                "policy": outputs["planner_policy_json"]["value"],
            },
        ),
        resource_change(
            "module.gc_iam.aws_iam_role.runner",
            "aws_iam_role",
            ["create"],
            None,
            {"name": "artifact-gc-prod-runner", "assume_role_policy": outputs["trust_policy_json"]["value"]},
        ),
    ]
    assert findings(*changes) == []
    # ... and the same runner policy widened to the whole bucket does not
    widened = json.loads(outputs["runner_policy_json"]["value"])
    for statement in widened["Statement"]:
        if statement.get("Sid") == "DeleteAndTagOnlyUnderGcPrefixes":
            statement["Resource"] = f"{BUCKET_ARN}/*"
    changes[0]["change"]["after"]["policy"] = json.dumps(widened)
    assert ("gc-delete-outside-prefixes", "error") in findings(*changes)


# ------------------------------------------------------------------------------------- input and policy


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"format_version": "1.2", "resource_changes": [', "not valid JSON"),  # truncated
        ("[]", "JSON object"),
        ('{"resource_changes": []}', "no format_version"),
        ('{"format_version": "2.0", "resource_changes": []}', "newer Terraform"),
        ('{"format_version": "1.2", "resource_changes": {"a": 1}}', "resource_changes must be a list"),
        (
            '{"format_version": "1.2", "resource_changes": [{"address": "x"}]}',
            "resource_changes must be a list",
        ),
        ('{"format_version": "1.0", "values": {}}', "state, not a plan"),
    ],
)
def test_malformed_plans_are_usage_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_plan(text, "tfplan.json")


def test_policy_file_overrides_and_validation() -> None:
    policy = load_policy("rules: {force-destroy-enabled: off}\nexpiration_floors: {'': 1}\n")
    assert policy["rules"]["force-destroy-enabled"] == "off"
    assert policy["expiration_floors"] == {"": 1}
    assert policy["gc_prefixes"] == DEFAULT_POLICY["gc_prefixes"]
    change = resource_change(
        "module.bucket.aws_s3_bucket.this",
        "aws_s3_bucket",
        ["update"],
        {"force_destroy": False},
        {"force_destroy": True},
    )
    assert findings(change, policy=policy) == []
    for bad, message in [
        ("nope: 1", "unknown settings"),
        ("rules: {force-destroy-enabled: maybe}", "severity"),
        ("rules: {made-up: error}", "rule names"),
        ("expiration_floors: {'': -1}", "whole numbers"),
        ("- a", "mapping"),
    ]:
        with pytest.raises(UsageError, match=message):
            load_policy(bad)


# --------------------------------------------------------------------------------------------------- CLI


def write(tmp_path: Path, document) -> Path:
    path = tmp_path / "tfplan.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def test_cli_exit_codes_and_formats(tmp_path: Path) -> None:
    runner = CliRunner()
    policy = str(REPO / "terraform" / "gate-policy.yaml")
    safe = write(tmp_path, plan(lifecycle_change([CHECKPOINTS], [CHECKPOINTS])))
    result = runner.invoke(app, ["tf-gate", str(safe), "--policy", policy])
    assert result.exit_code == 0 and "passes" in result.output

    (tmp_path / "bad").mkdir()
    dangerous = write(
        tmp_path / "bad",
        plan(
            resource_change(
                "module.bucket.aws_s3_bucket.this", "aws_s3_bucket", ["delete"], before={"bucket": "b"}
            ),
            lifecycle_change(
                [CHECKPOINTS, MODELS],
                [
                    lifecycle_rule("tier-checkpoints/", "checkpoints/", 90),
                    lifecycle_rule("tier-models/", "models/", 30),
                ],
            ),
        ),
    )
    result = runner.invoke(app, ["tf-gate", str(dangerous), "--policy", policy, "--format", "markdown"])
    assert result.exit_code == 3
    assert "❌ tf-gate: plan refused — 2 errors, 1 warning" in result.output
    assert (
        "| ❌ | `protected-resource-destroyed` | `module.bucket.aws_s3_bucket.this` | plan would delete aws_s3_bucket |"
        in result.output
    )
    assert "#### Lifecycle rules that change" in result.output and "expire 30 d" in result.output

    result = runner.invoke(
        app, ["tf-gate", str(dangerous), "--format", "json", "--out", str(tmp_path / "gate.json")]
    )
    assert result.exit_code == 3
    report = json.loads((tmp_path / "gate.json").read_text())
    assert report["verdict"] == "fail" and report["errors"] == 2
    assert {f["rule"] for f in report["findings"]} == {
        "protected-resource-destroyed",
        "expiration-below-floor",
        "expiration-shortened",
    }

    truncated = write(tmp_path, '{"format_version": "1.2", "resource_ch')
    result = runner.invoke(app, ["tf-gate", str(truncated)])
    assert result.exit_code == 2 and "not valid JSON" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["tf-gate", str(tmp_path / "missing.json")])
    assert result.exit_code == 2 and "cannot read" in result.output
    result = runner.invoke(app, ["tf-gate", str(safe), "--format", "html"])
    assert result.exit_code == 2


def test_markdown_escapes_pipes_in_cells() -> None:
    result = evaluate(
        plan(resource_change("a.aws_s3_bucket.this", "aws_s3_bucket", ["delete"], before={})), POLICY
    )
    result.findings[0] = type(result.findings[0])("r", "error", "a|b", "x|y")
    text = render_markdown(result, "p.json", "policy")
    assert "`a\\|b`" in text and "x\\|y" in text


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (REPO / "tests" / "fixtures" / "plans").glob("*.json"))
)
def test_plan_fixture_files(name: str) -> None:
    """The committed example plans: `safe-*` pass, `unsafe-*` fail."""
    document = load_plan((REPO / "tests" / "fixtures" / "plans" / name).read_text(), name)
    assert evaluate(document, POLICY).passed == name.startswith("safe-")


def test_workflows_pass_actionlint() -> None:
    import shutil
    import subprocess
    import sys

    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which(
        "actionlint"
    )
    assert actionlint, "actionlint not installed: run `make test` (installs the dev dependencies)"
    workflows = sorted(str(p) for p in (REPO / ".github" / "workflows").glob("*.yml"))
    assert len(workflows) == 2
    done = subprocess.run([actionlint, *workflows], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_warnings_only_plan_passes_through_the_cli(tmp_path: Path) -> None:
    shorter = lifecycle_rule(
        "tier-checkpoints/", "checkpoints/", 90, transitions=[(30, "STANDARD_IA"), (60, "GLACIER_IR")]
    )
    path = write(tmp_path, plan(lifecycle_change([CHECKPOINTS], [shorter])))
    result = CliRunner().invoke(
        app, ["tf-gate", str(path), "--policy", str(REPO / "terraform" / "gate-policy.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert "expiration-shortened" in result.output and "1 warning" in " ".join(result.output.split())


def test_unknown_values_name_themselves_in_the_message() -> None:
    unknown_days = {"rule": [{"expiration": [{"days": True}]}]}
    result = evaluate(plan(lifecycle_change([CHECKPOINTS], [CHECKPOINTS], unknown=unknown_days)), POLICY)
    (finding,) = result.errors
    assert "unknown until apply" in finding.message


@pytest.mark.parametrize(
    ("name", "rules"),
    [
        ("safe-create-dev.json", set()),
        (
            "unsafe-replace-bucket-suspend-versioning.json",
            {
                "protected-resource-destroyed",
                "versioning-suspended",
                "lifecycle-rule-removed",
                "expiration-below-floor",
            },
        ),
    ],
)
def test_which_rules_fire_on_the_committed_fixtures(name: str, rules: set[str]) -> None:
    document = load_plan((REPO / "tests" / "fixtures" / "plans" / name).read_text(), name)
    assert {f.rule for f in evaluate(document, POLICY).errors} == rules


# ------------------------------------------------------------------------- real plans (issue 9, part 2)

DATA = Path(__file__).parent / "data"


def test_a_terraform_014_plan_in_format_01_is_read() -> None:
    """Terraform 0.12-0.15 wrote format_version 0.1/0.2; provider 3.x leaves inline versioning unknown on a
    new bucket, which must not be read as suspending it."""
    name = "tf0.14-format0.1-create-bucket-inline.json"
    document = load_plan((DATA / name).read_text(), name)
    result = evaluate(document, POLICY)
    assert result.passed and result.resources_checked == 1


@pytest.mark.parametrize("version", ["0.1", "0.2", "1.0", "1.2", "1.9"])
def test_every_documented_format_version_is_accepted(version: str) -> None:
    assert load_plan(json.dumps(plan() | {"format_version": version}), "p")["format_version"] == version


def test_an_errored_plan_never_passes(tmp_path: Path) -> None:
    path = write(tmp_path, plan() | {"errored": True})
    result = CliRunner().invoke(app, ["tf-gate", str(path)])
    assert result.exit_code == 3 and "plan-incomplete" in result.output


def test_an_unknown_delete_marker_flag_does_not_fail_a_long_expiration() -> None:
    """The AWS provider leaves expiration[].expired_object_delete_marker unknown on a new configuration."""
    rule = lifecycle_rule("tier-models/", "models/", 400)
    unknown = {"rule": [{"expiration": [{"expired_object_delete_marker": True}]}]}
    assert findings(lifecycle_change(None, [rule], unknown=unknown, actions=("create",))) == []
    still = {"rule": [{"expiration": [{"days": True}]}]}
    assert findings(lifecycle_change(None, [rule], unknown=still, actions=("create",))) == [
        ("expiration-below-floor", "error")
    ]


def inline_bucket(before_rules, after_rules, before_versioning=True, after_versioning=True, sse=(True, True)):
    def values(rules, versioning, encrypted):
        return {
            "bucket": "acme-ml-artifacts-prod",
            "lifecycle_rule": rules,
            "versioning": [{"enabled": versioning, "mfa_delete": False}],
            "server_side_encryption_configuration": [{"rule": [{}]}] if encrypted else [],
        }

    return resource_change(
        "aws_s3_bucket.legacy",
        "aws_s3_bucket",
        ["update"],
        before=values(before_rules, before_versioning, sse[0]),
        after=values(after_rules, after_versioning, sse[1]),
    )


def legacy_rule(rule_id: str, prefix: str, days: int, enabled: bool = True) -> dict:
    return {"id": rule_id, "prefix": prefix, "enabled": enabled, "tags": {}, "expiration": [{"days": days}]}


def test_inline_lifecycle_rules_are_checked_like_standalone_ones() -> None:
    keep = legacy_rule("keep", "", 400)
    assert findings(inline_bucket([keep], [keep])) == []
    assert findings(inline_bucket([keep], [legacy_rule("keep", "", 30)])) == [
        ("expiration-below-floor", "error")
    ]
    assert findings(inline_bucket([keep], [])) == [("lifecycle-rule-removed", "error")]
    assert findings(inline_bucket([keep], [legacy_rule("keep", "", 400, enabled=False)])) == [
        ("lifecycle-rule-removed", "error")
    ]


def test_inline_versioning_and_encryption_are_checked() -> None:
    keep = legacy_rule("keep", "", 400)
    assert findings(inline_bucket([keep], [keep], after_versioning=False)) == [
        ("versioning-suspended", "error")
    ]
    assert findings(inline_bucket([keep], [keep], sse=(True, False))) == [("encryption-removed", "error")]
    standalone = resource_change(
        "aws_s3_bucket_server_side_encryption_configuration.this",
        "aws_s3_bucket_server_side_encryption_configuration",
        ["delete"],
        before={"bucket": "acme-ml-artifacts-prod"},
    )
    assert findings(standalone) == [("encryption-removed", "error")]


def test_selectors_limit_the_gate_to_the_protected_buckets_and_roles() -> None:
    logs = resource_change("aws_s3_bucket.logs", "aws_s3_bucket", ["delete"], before={"bucket": "acme-logs"})
    ours = resource_change(
        "module.bucket.aws_s3_bucket.this",
        "aws_s3_bucket",
        ["delete"],
        before={"bucket": "acme-ml-artifacts-prod"},
    )
    everything = findings(logs, ours)
    assert everything.count(("protected-resource-destroyed", "error")) == 2  # no selector: all judged
    policy = load_policy("select:\n  buckets: ['acme-ml-artifacts-*']\n")
    assert findings(logs, ours, policy=policy) == [("protected-resource-destroyed", "error")]
    policy = load_policy("select:\n  addresses: ['module.bucket.*']\n")
    assert findings(logs, policy=policy) == []
    with pytest.raises(UsageError, match="select must map"):
        load_policy("select:\n  bucket: x\n")


def test_an_expiration_by_date_is_below_every_floor() -> None:
    rule = lifecycle_rule("tier-models/", "models/", None)
    rule["expiration"] = [{"date": "2027-01-01T00:00:00Z", "days": 0, "expired_object_delete_marker": False}]
    assert findings(lifecycle_change([MODELS], [rule])) == [("expiration-below-floor", "error")]
