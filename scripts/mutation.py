"""`make mutation`: mutation testing of the modules that decide what is deleted, with mutmut.

mutmut derives module names from file paths relative to its working directory, and our package lives in
gc/, so the run happens in a work folder (.cache/mutation) holding a copy of the package and the tests.
Every run starts afresh: mutmut would otherwise keep a mutant's old verdict after a test was added.

Ends with one line ``mutation score: KILLED/TOTAL (P%)`` (timeouts count as killed: the mutant made the
tests hang, which a CI run notices). Survivors are listed; those explained in tests/MUTANTS.md are marked.
Exit 1 below 90 % or when an unexplained mutant survives.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / ".cache" / "mutation"
TARGET = 0.90

# The safety core: reference parsing and reachability, mark, the plan file, the interlocks, apply's
# re-check and batching, restore and the lease.
SAFETY_CORE = [
    "artifact_gc/refs/uris.py",
    "artifact_gc/refs/reachability.py",
    "artifact_gc/collect/mark.py",
    "artifact_gc/collect/planfile.py",
    "artifact_gc/collect/parquet_plan.py",
    "artifact_gc/collect/safety.py",
    "artifact_gc/collect/apply.py",
    "artifact_gc/collect/restore.py",
    "artifact_gc/collect/control.py",
]
# Functions of those modules that do not decide what is deleted (the apply loop's orchestration, retry
# mechanics, crash recovery, audit writing, history bookkeeping): marked "no mutate" in the work copy only.
# The emulator, fault and resume suites cover them; each decision they take is a function in scope
# (tally_candidates, _unprotected, _batches, _recheck, _same_object; the safety.py checks).
OUT_OF_SCOPE = {
    "artifact_gc/collect/apply.py": [
        "ApplyOptions",
        "PreparedApply",
        "ApplyResult",
        "prepare_apply",
        "reread_registry",
        "execute_apply",
        "_recover",
        "_all_versions",
        "_delete_with_retries",
        "AuditLog",
    ],
    "artifact_gc/collect/control.py": [
        "holder_name",
        "Lease",
        "baseline_key",
        "_bad_history",
        "read_history",
        "_read_history",
        "read_baselines",
        "record_run",
        "_etag_of",
        "reset_history",
        "check_shrink",
        "record_baselines",
    ],
    "artifact_gc/collect/planfile.py": ["PlanWriter", "_candidate_batches", "fsync_file"],
    # the Parquet plan's writer, and its header and folder readers (Spark's form): tests/collect/
    # test_spark_plan.py and the CLI's fuzz of plan folders cover those, too slow to run per mutant
    "artifact_gc/collect/parquet_plan.py": [
        "modules",
        "write_parquet_plan",
        "plan_parts",
        "_part_header",
        "read_parquet_header",
    ],
}
# Fast tests only: pure unit tests and in-process emulator tests of one function each. A surviving mutant
# runs every test that covers its function, so the emulator suites that drive whole plans and applies
# (tests/collect/test_plan_apply.py, test_safeguards.py, ...) would make each survivor cost a minute.
TESTS = [
    "tests/refs/",
    "tests/collect/test_mark.py",
    "tests/collect/test_planfile.py",
    "tests/collect/test_parquet_plan_reader.py",
    "tests/collect/test_safety_units.py",
    "tests/collect/test_apply_units.py",
    "tests/collect/test_lease.py",
    "tests/collect/test_restore_units.py",
]

CONFIG = f"""
[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "--strict-markers -m 'not e2e'"
filterwarnings = ["ignore:The 'warn' method is deprecated:DeprecationWarning:python_terraform"]
markers = ["e2e: end-to-end tests that drive the CLI against a ThreadedMotoServer"]

[tool.mutmut]
source_paths = ["artifact_gc"]
only_mutate = {json.dumps(SAFETY_CORE)}
pytest_add_cli_args_test_selection = {json.dumps(TESTS)}
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-p", "no:xdist", "-p", "no:randomly"]
# A mutant that loops for ever is stopped at 3x its tests' time (mutmut's default, 15x, let two endless
# loops in ReferenceSet.match run for minutes each).
timeout_multiplier = 3.0
"""

# mutmut runs a mutant's covering tests with -x in no particular order: fastest first means a killed
# mutant usually costs one unit test, not a tour of the emulator tests.
FASTEST_FIRST = """

def pytest_collection_modifyitems(items):
    import json
    from pathlib import Path

    stats = Path("mutmut-stats.json")
    if not stats.exists():
        return
    durations = json.loads(stats.read_text()).get("duration_by_test", {})
    items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
"""


def sync() -> None:
    """Copy the package and tests into the work folder; keep mutmut's state for an incremental run."""
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    for name, source in (("artifact_gc", REPO / "gc" / "artifact_gc"), ("tests", REPO / "tests")):
        shutil.rmtree(WORK / name, ignore_errors=True)
        shutil.copytree(source, WORK / name, ignore=shutil.ignore_patterns("__pycache__"))
    (WORK / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    with (WORK / "tests" / "conftest.py").open("a", encoding="utf-8") as conftest:
        conftest.write(FASTEST_FIRST)
    for relative, names in OUT_OF_SCOPE.items():
        path = WORK / relative
        path.write_text(fence(path.read_text(encoding="utf-8"), names), encoding="utf-8")


def fence(source: str, names: list[str]) -> str:
    """Wrap the named top-level functions and classes (with their decorators) in no-mutate pragmas."""
    lines = source.splitlines()
    top = [
        i
        for i, line in enumerate(lines)
        if line and not line[0].isspace() and not line.startswith(("#", ")"))
    ]
    ranges: list[list[int]] = []
    for index in top:
        match = re.match(r"(?:async\s+)?(?:def|class)\s+(\w+)", lines[index])
        if not (match and match[1] in names):
            continue
        begin = index
        while begin > 0 and lines[begin - 1].startswith("@"):
            begin -= 1
        after = next((j for j in top if j > index and not lines[j].startswith("@")), len(lines))
        while after > index and lines[after - 1].startswith("@"):
            after -= 1
        if ranges and ranges[-1][1] >= begin:  # adjacent: one fenced region
            ranges[-1][1] = after
        else:
            ranges.append([begin, after])
    marks = {begin: "start" for begin, _ in ranges} | {after: "end" for _, after in ranges}
    out = []
    for index, line in enumerate(lines):
        if index in marks:
            out.append(f"# pragma: no mutate {marks[index]}")
        out.append(line)
    if len(lines) in marks:
        out.append("# pragma: no mutate end")
    return "\n".join(out) + "\n"


def explained() -> set[str]:
    """Mutant names that tests/MUTANTS.md explains as equivalent (or not worth a test)."""
    path = REPO / "tests" / "MUTANTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return set(re.findall(r"`(artifact_gc\.[^`]+__mutmut_\d+)`", text))


def main() -> int:
    mutmut = Path(sys.executable).with_name("mutmut")
    sync()
    started = time.monotonic()
    run = subprocess.run([str(mutmut), "run"], cwd=WORK, stdout=subprocess.DEVNULL, check=False)
    if run.returncode not in (0, 1):
        print(f"mutmut run failed with exit code {run.returncode}", file=sys.stderr)
        return 1
    subprocess.run([str(mutmut), "export-cicd-stats"], cwd=WORK, stdout=subprocess.DEVNULL, check=True)
    stats = json.loads((WORK / "mutants" / "mutmut-cicd-stats.json").read_text())
    listing = subprocess.run([str(mutmut), "results"], cwd=WORK, capture_output=True, text=True, check=True)
    survivors = re.findall(r"^\s*(\S+): (?:survived|no tests)\s*$", listing.stdout, re.MULTILINE)
    known = explained()
    for name in survivors:
        print(f"  survived {name}" + ("  (explained in tests/MUTANTS.md)" if name in known else ""))
    killed = stats["killed"] + stats["timeout"]
    total = stats["total"]
    score = killed / total if total else 0.0
    unexplained = [name for name in survivors if name not in known]
    print(
        f"{len(unexplained)} survivors not explained in tests/MUTANTS.md; {time.monotonic() - started:.0f} s"
    )
    print(f"mutation score: {killed}/{total} ({score:.1%})")
    return 0 if score >= TARGET and not unexplained else 1


if __name__ == "__main__":
    sys.exit(main())
