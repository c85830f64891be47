"""No file a user can hand us produces a traceback (issue 13): random bytes, text with byte-order marks,
folders and missing paths go to every file-taking option of every command; each ends with its documented
exit code and one line naming the input."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from artifact_gc.cli import app

from conftest import BUCKET, World

# (command line with {f} for the file, exit codes allowed). The registry manifest fails closed (3); text
# that happens to be valid (a line of random text is a bare key) is a manifest like any other (0).
FILE_OPTIONS = [
    (["apply", "{f}", "--yes"], {2}),
    (["restore", "{f}", "--yes"], {2}),
    (["rescue", "--plan", "{f}"], {2}),
    (["plan", "--out", "{out}", "--tf-outputs", "{f}"], {2}),
    (["plan", "--out", "{out}", "--bucket", BUCKET, "--prefix", "models/", "--manifest", "{f}"], {0, 3}),
    (["tf-gate", "{f}"], {2, 3}),
    (["tf-gate", "{plan}", "--policy", "{f}"], {0, 2}),
    (["lint-policy", "--file", "{f}"], {2, 3}),
    (["report", "--bucket", BUCKET, "--prices", "{f}", "--no-history"], {2}),
    (["report", "--bucket", BUCKET, "--proposed", "{f}", "--no-history"], {2}),
    (["report", "--bucket", BUCKET, "--history", "{f}"], {0, 2}),
    (["report", "--bucket", BUCKET, "--plan", "{f}", "--no-history"], {2}),
]
IDS = [
    " ".join(a for a in args if not a.startswith("{") and a not in (BUCKET, "models/"))
    for args, _ in FILE_OPTIONS
]

CONTENT = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda s: codecs.BOM_UTF8 + s.encode("utf-8")),
    st.text(max_size=200).map(lambda s: s.encode("utf-16")),  # PowerShell's Out-File
    st.sampled_from([b"", b"{}", b"[]", b"null", b'{"Rules": 5}', b"\x89PNG\r\n\x1a\n", b"\xff\xfe\x00"]),
)


def invoke(args: list[str], path: Path, tmp_path: Path):
    plan = tmp_path / "safe-plan.json"
    plan.write_text((Path(__file__).parents[1] / "fixtures" / "plans" / "safe-create-dev.json").read_text())
    line = [a.format(f=path, out=tmp_path / "out.jsonl", plan=plan) for a in args]
    return CliRunner().invoke(app, line, catch_exceptions=False)


def check(result, allowed: set[int], path: Path) -> None:
    assert result.exit_code in allowed, result.output
    assert "Traceback" not in result.output
    if result.exit_code:
        error_lines = [line for line in result.output.splitlines() if line.startswith("artifact-gc:")]
        assert len(error_lines) == 1, result.output


@pytest.mark.parametrize(("args", "allowed"), FILE_OPTIONS, ids=IDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=CONTENT)
def test_random_bytes_never_crash(world: World, tmp_path: Path, args, allowed, content: bytes) -> None:
    world.register("models/keep/")
    path = tmp_path / "input.file"
    path.write_bytes(content)
    check(invoke(args, path, tmp_path), allowed | ({0} if args[0] == "tf-gate" else set()), path)


@pytest.mark.parametrize(("args", "allowed"), FILE_OPTIONS, ids=IDS)
@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_missing_paths_and_folders(world: World, tmp_path: Path, args, allowed, kind: str) -> None:
    world.register("models/keep/")
    path = tmp_path / "given"
    if kind == "folder":
        path.mkdir()
    result = invoke(args, path, tmp_path)
    if "--history" in args and kind == "missing":
        assert result.exit_code == 0, result.output  # a missing history file is simply a first run
        return
    check(result, allowed - {0}, path)
    assert str(path) in " ".join(result.output.split()) or "given" in result.output


def test_a_utf16_plan_from_powershell_is_gated(tmp_path: Path) -> None:
    source = Path(__file__).parents[1] / "fixtures" / "plans" / "safe-create-dev.json"
    for encoding, bom in (("utf-16", b""), ("utf-8", codecs.BOM_UTF8)):
        path = tmp_path / f"plan-{encoding}.json"
        path.write_bytes(bom + source.read_text().encode(encoding))
        result = CliRunner().invoke(app, ["tf-gate", str(path)])
        assert result.exit_code == 0, result.output


def test_lint_policy_refuses_a_binary_tfvars_before_terraform(tmp_path: Path) -> None:
    picture = tmp_path / "some.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    result = CliRunner().invoke(app, ["lint-policy", "--tfvars", str(picture)])
    assert result.exit_code == 2 and "give a text file" in " ".join(result.output.split())


def test_terraform_calls_are_bounded(tmp_path: Path) -> None:
    """A Terraform that never returns is killed at --terraform-timeout and named (exit 1)."""
    slow = tmp_path / "terraform"
    slow.write_text("#!/bin/sh\nexec sleep 60\n")
    slow.chmod(0o755)
    tfvars = tmp_path / "dev.tfvars"
    tfvars.write_text("tiers = {}\n")
    result = CliRunner().invoke(
        app,
        ["lint-policy", "--tfvars", str(tfvars), "--terraform-timeout", "1"],
        env={"ARTIFACT_GC_TERRAFORM_BIN": str(slow)},
    )
    assert result.exit_code == 1, result.output
    assert "terraform init did not finish within 1 s and was killed" in " ".join(result.output.split())


def test_tf_dir_without_outputs_says_so(tmp_path: Path) -> None:
    fake = tmp_path / "terraform"
    fake.write_text("#!/bin/sh\necho '{}'\n")
    fake.chmod(0o755)
    result = CliRunner().invoke(
        app,
        ["plan", "--out", str(tmp_path / "p.jsonl"), "--tf-dir", str(tmp_path), "--terraform-bin", str(fake)],
    )
    assert result.exit_code == 2 and "has `terraform apply` run in it" in " ".join(result.output.split())


PLAN_READERS = [
    args for args, _ in FILE_OPTIONS if "{f}" in args and args[0] in ("apply", "rescue", "report")
]
PLAN_READERS = [args for args in PLAN_READERS if args[0] != "report" or "--plan" in args]


@pytest.mark.parametrize("args", PLAN_READERS, ids=[" ".join(a[:2]) for a in PLAN_READERS])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(CONTENT, min_size=1, max_size=3), bookkeeping=st.booleans())
def test_a_plan_folder_of_random_parts_is_refused_in_one_line(
    world: World, tmp_path: Path, args, parts: list[bytes], bookkeeping: bool
) -> None:
    """What `aws s3 sync` of a damaged or foreign folder hands apply, rescue and report --plan."""
    world.register("models/keep/")
    folder = tmp_path / "plan.parquet"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for number, content in enumerate(parts):
        (folder / f"part-{number:05d}-x-c000.snappy.parquet").write_bytes(content)
    if bookkeeping:
        (folder / "_SUCCESS").write_bytes(b"")
    check(invoke(args, folder, tmp_path), {2}, folder)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
SIZE_BOUND = st.none() | JSON | st.integers(-5, 2**64)  # null: Terraform's absent field
FILTER = JSON | st.fixed_dictionaries(
    {},
    optional={
        "Prefix": JSON | st.sampled_from(["", "models/"]),
        "ObjectSizeGreaterThan": SIZE_BOUND,
        "ObjectSizeLessThan": SIZE_BOUND,
        "Tag": JSON,
        "And": JSON
        | st.fixed_dictionaries(
            {}, optional={"Prefix": JSON, "ObjectSizeGreaterThan": SIZE_BOUND, "Tags": JSON}
        ),
    },
)
DAYS = JSON | st.integers(-3, 400)
A_RULE = JSON | st.fixed_dictionaries(
    {},
    optional={
        "ID": JSON,
        "Status": JSON | st.just("Enabled"),
        "Prefix": JSON | st.just("models/"),
        "Filter": FILTER,
        "Transitions": JSON
        | st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "Days": DAYS,
                    "StorageClass": JSON | st.sampled_from(["STANDARD_IA", "GLACIER_IR"]),
                },
            ),
            max_size=2,
        ),
        "Expiration": JSON | st.fixed_dictionaries({}, optional={"Days": DAYS}),
        "NoncurrentVersionExpiration": JSON
        | st.fixed_dictionaries({}, optional={"NoncurrentDays": DAYS, "NewerNoncurrentVersions": DAYS}),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rules=st.lists(A_RULE, max_size=3))
def test_a_proposed_lifecycle_of_any_shape_never_crashes(world: World, tmp_path: Path, rules: list) -> None:
    """Valid JSON with rules of any shape (sizes as text, a filter that is a list, days past any bound):
    `report --proposed` projects it or refuses it in one line (exit 2), and `lint-policy` lints it."""
    import json

    world.put("models/a.bin", age_days=100, body=b"x" * 10)
    path = tmp_path / "proposed.json"
    path.write_text(json.dumps({"Rules": rules}))
    check(
        invoke(["report", "--bucket", BUCKET, "--proposed", "{f}", "--no-history"], path, tmp_path),
        {0, 2},
        path,
    )
    check(invoke(["lint-policy", "--file", "{f}"], path, tmp_path), {0, 2, 3}, path)


def _or_null(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


WHOLE = st.integers(-3, 2**64)
TEXT = st.sampled_from(["", "models/", "a", "é/"]) | st.text(max_size=4)
TAG = st.fixed_dictionaries({}, optional={"Key": _or_null(TEXT), "Value": _or_null(TEXT)})
WELL_SHAPED_RULE = st.fixed_dictionaries(
    {"Status": st.sampled_from(["Enabled", "Disabled"])},
    optional={
        "ID": _or_null(TEXT),
        "Prefix": _or_null(TEXT),
        "Filter": _or_null(
            st.fixed_dictionaries(
                {},
                optional={
                    "Prefix": _or_null(TEXT),
                    "Tag": _or_null(TAG),
                    "ObjectSizeGreaterThan": _or_null(WHOLE),
                    "ObjectSizeLessThan": _or_null(WHOLE),
                    "And": _or_null(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "Prefix": _or_null(TEXT),
                                "Tags": _or_null(st.lists(TAG, max_size=2)),
                                "ObjectSizeGreaterThan": _or_null(WHOLE),
                                "ObjectSizeLessThan": _or_null(WHOLE),
                            },
                        )
                    ),
                },
            )
        ),
        "Transitions": _or_null(
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "Days": _or_null(WHOLE),
                        "Date": _or_null(st.just("2027-01-01")),
                        "StorageClass": _or_null(st.sampled_from(["STANDARD_IA", "GLACIER_IR", "X"])),
                    },
                ),
                max_size=2,
            )
        ),
        "Expiration": _or_null(
            st.fixed_dictionaries(
                {}, optional={"Days": _or_null(WHOLE), "ExpiredObjectDeleteMarker": _or_null(st.booleans())}
            )
        ),
        "NoncurrentVersionExpiration": _or_null(
            st.fixed_dictionaries(
                {}, optional={"NoncurrentDays": _or_null(WHOLE), "NewerNoncurrentVersions": _or_null(WHOLE)}
            )
        ),
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rules=st.lists(WELL_SHAPED_RULE, min_size=1, max_size=3))
def test_a_well_shaped_proposed_lifecycle_is_always_projected(
    world: World, tmp_path: Path, rules: list
) -> None:
    """Every field of its type or null (however S3 would judge the values): `report --proposed` projects it
    (exit 0), and `lint-policy` lints it (exit 0, or 3 for what S3 would reject)."""
    import json

    world.put("models/a.bin", age_days=100, body=b"x" * 10)
    path = tmp_path / "proposed.json"
    path.write_text(json.dumps({"Rules": rules}))
    check(
        invoke(["report", "--bucket", BUCKET, "--proposed", "{f}", "--no-history"], path, tmp_path), {0}, path
    )
    check(invoke(["lint-policy", "--file", "{f}"], path, tmp_path), {0, 3}, path)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    # neither a process's environment nor its arguments can hold NUL or a lone surrogate
    value=st.one_of(
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6),
        st.integers(-5, 40).map(str),
    ),
    command=st.sampled_from(["apply", "restore", "rescue"]),
    as_env=st.booleans(),
)
def test_any_concurrency_is_taken_or_refused_in_one_error(
    tmp_path: Path, value: str, command: str, as_env: bool
) -> None:
    """--concurrency / ARTIFACT_GC_CONCURRENCY, shared by the three commands that change the bucket: a
    whole number from 1 to 32 is taken (the command goes on to its missing input), anything else is
    refused naming the option, exit 2, and never a traceback."""
    missing = tmp_path / "absent.jsonl"
    args = {"apply": ["apply", str(missing)], "restore": ["restore", str(missing)]}.get(
        command, ["rescue", "--plan", str(missing)]
    )
    env = {"ARTIFACT_GC_CONCURRENCY": value} if as_env else {}
    if not as_env:
        args += ["--concurrency", value]
    if as_env and value == "":
        env = {}  # an empty variable reads as unset
    result = CliRunner().invoke(app, args, env=env, catch_exceptions=False)
    assert result.exit_code == 2 and "Traceback" not in result.output
    text = " ".join(result.output.split())
    refused = "'--concurrency'" in text and "absent.jsonl" not in text
    if value.strip().isascii() and value.strip().lstrip("+-").isdigit():
        assert refused == (not 1 <= int(value) <= 32), text
    else:  # text: refused, unless Python reads it as a number in range (" 4", "٤")
        assert refused or "absent.jsonl" in text, text
