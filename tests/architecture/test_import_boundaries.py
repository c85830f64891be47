"""The package's layout is a promise: a folder's name tells what its modules may touch.

Pure modules (reference parsing, mark, safety, cost maths, gate rules, configuration) import nothing that
talks to AWS, Terraform, files or the terminal, and nothing from the edge folders. Only ``cli/`` and
``render/`` write to the terminal. Checked on the source with ``ast``, so a violation fails ``make test``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "gc" / "artifact_gc"

PURE_FOLDERS = ("refs", "cost", "gate")
PURE_MODULES = (
    "collect.mark",
    "collect.safety",
    "collect.object_info",
    "collect.columnar",
    "objects.inventory_manifest",
    "config",
    "errors",
)
TERMINAL_FOLDERS = ("cli", "render")

# Modules that reach the outside world: AWS, files, processes, sockets, the terminal, templates.
OUTSIDE_WORLD = {
    "boto3",
    "botocore",
    "os",
    "pathlib",
    "shutil",
    "subprocess",
    "tempfile",
    "socket",
    "io",
    "glob",
    "importlib.resources",
    "urllib.request",
    "http",
    "sqlite3",
    "rich",
    "typer",
    "jinja2",
    "sys",
}
TERMINAL = {"rich", "typer", "click"}
FILE_AND_TERMINAL_CALLS = {"open", "print", "input"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__")


def _is_pure(name: str) -> bool:
    return name.split(".")[0] in PURE_FOLDERS or name in PURE_MODULES


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
            # ``from artifact_gc import x`` names a module too
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _calls(tree: ast.AST) -> list[tuple[int, str]]:
    return [
        (node.lineno, node.func.id)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    ]


def _touches(imported: str, forbidden: set[str]) -> bool:
    return any(imported == f or imported.startswith(f + ".") for f in forbidden)


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_the_layout_is_the_documented_one() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders >= {"cli", "refs", "collect", "registry", "objects", "cost", "gate", "terraform", "render"}
    flat = {p.stem for p in PACKAGE.glob("*.py")}
    assert flat <= {"__init__", "__main__", "aws", "errors", "config", "local_stack", "inputs"}, flat


@pytest.mark.parametrize("path", [p for p in MODULES if _is_pure(_module_name(p))], ids=_module_name)
def test_pure_modules_touch_nothing_outside(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    problems = []
    for line, imported in _imports(tree):
        if _touches(imported, OUTSIDE_WORLD):
            problems.append(f"line {line}: imports {imported}")
        if imported.startswith("artifact_gc."):
            target = imported.removeprefix("artifact_gc.")
            known = (PACKAGE / Path(*target.split("."))).with_suffix(".py").exists() or (
                PACKAGE / Path(*target.split(".")) / "__init__.py"
            ).exists()
            if known and not _is_pure(target):
                problems.append(f"line {line}: imports the edge module {imported}")
    problems += [
        f"line {line}: calls {name}()" for line, name in _calls(tree) if name in FILE_AND_TERMINAL_CALLS
    ]
    assert not problems, f"{_module_name(path)} must stay pure:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "path", [p for p in MODULES if _module_name(p).split(".")[0] not in TERMINAL_FOLDERS], ids=_module_name
)
def test_only_cli_and_render_write_to_the_terminal(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    problems = [f"line {line}: imports {name}" for line, name in _imports(tree) if _touches(name, TERMINAL)]
    problems += [f"line {line}: calls print()" for line, name in _calls(tree) if name == "print"]
    problems += [
        f"line {node.lineno}: uses sys.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in ("stdout", "stderr")
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    ]
    assert not problems, f"{_module_name(path)} writes to the terminal:\n" + "\n".join(problems)


def test_the_checker_catches_a_violation(tmp_path: Path) -> None:
    """The checks above would fail on a pure module that opens a file or imports boto3."""
    tree = ast.parse("import boto3\nfrom artifact_gc.aws import AwsClients\nopen('x')\n")
    assert any(_touches(name, OUTSIDE_WORLD) for _, name in _imports(tree))
    assert ("artifact_gc.aws" in {name for _, name in _imports(tree)}) and not _is_pure("aws")
    assert (3, "open") in _calls(tree)
