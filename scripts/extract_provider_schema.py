"""Extract the hashicorp/aws schema of the resources this repository uses, for offline checks.

No provider binary can be downloaded here, so `terraform validate` cannot check provider attributes. The
CDK bindings on PyPI (cdktn-provider-aws) are generated from the provider's schema: their jsii assembly
lists every resource's arguments and nested blocks, and each property's documentation links to
`.../docs/resources/<type>#<attribute>`, which gives the Terraform name. This script reads that assembly
and writes tests/fixtures/aws_provider_schema.json with just the resources and data sources that our .tf
files declare. Re-run it after adding a resource:

    pip download --no-deps -d /tmp/cdk cdktn-provider-aws==25.8.1
    python scripts/extract_provider_schema.py /tmp/cdk/cdktn_provider_aws-25.8.1-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import io
import json
import re
import tarfile
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "tests" / "fixtures" / "aws_provider_schema.json"
LINK = re.compile(
    r"registry\.terraform\.io/providers/hashicorp/aws/([^/]+)/docs/(resources|data-sources)/(\w+)#(\w+)"
)


def load_assembly(wheel: Path) -> dict[str, Any]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(archive.read(name))) as tar:
            member = tar.extractfile("package/.jsii")
            assert member is not None
            return json.load(member)


def used_types() -> tuple[set[str], set[str]]:
    resources, data_sources = set(), set()
    for path in [*REPO.glob("modules/**/*.tf"), *REPO.glob("terraform/**/*.tf")]:
        text = path.read_text()
        resources |= set(re.findall(r'^\s*resource\s+"(\w+)"', text, re.MULTILINE))
        data_sources |= set(re.findall(r'^\s*data\s+"(\w+)"', text, re.MULTILINE))
    return resources, data_sources


def _link(prop: dict[str, Any]) -> re.Match[str] | None:
    docs = prop.get("docs", {})
    return LINK.search(docs.get("summary", "") + " " + docs.get("remarks", ""))


def _nested_fqn(type_ref: Any, types: dict[str, Any]) -> str | None:
    """The interface a property's type refers to (directly, in a collection, or in a union), if any."""
    if isinstance(type_ref, dict):
        fqn = type_ref.get("fqn")
        if fqn in types and types[fqn].get("kind") == "interface" and not fqn.startswith("cdktn."):
            return fqn
        for value in type_ref.values():
            found = _nested_fqn(value, types)
            if found:
                return found
    elif isinstance(type_ref, list):
        for value in type_ref:
            found = _nested_fqn(value, types)
            if found:
                return found
    return None


def describe(fqn: str, types: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    attributes, blocks = set(), {}
    for prop in types[fqn].get("properties", []):
        link = _link(prop)
        name = link.group(4) if link else re.sub(r"(?<!^)(?=[A-Z])", "_", prop["name"]).lower()
        nested = _nested_fqn(prop["type"], types)
        if nested and depth < 8:
            blocks[name] = describe(nested, types, depth + 1)
        else:
            attributes.add(name)
    return {"attributes": sorted(attributes), "blocks": dict(sorted(blocks.items()))}


def readable(class_fqn: str, types: dict[str, Any]) -> list[str]:
    """Attributes a configuration may read from the resource (computed ones included), in snake_case."""
    names = set()
    for prop in types.get(class_fqn, {}).get("properties", []):
        if (
            prop.get("static")
            or prop["name"].endswith("Input")
            or prop["name"].startswith(("tf", "terraform", "node", "cdktn"))
        ):
            continue
        names.add(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", prop["name"]).lower())
    return sorted(names)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("wheel", type=Path, help="the cdktn-provider-aws wheel")
    args = parser.parse_args()
    assembly = load_assembly(args.wheel)
    types = assembly["types"]
    resources, data_sources = used_types()
    configs: dict[tuple[str, str], str] = {}
    docs_version = "?"
    for fqn, spec in types.items():
        if spec.get("kind") != "interface" or not spec["name"].endswith("Config"):
            continue
        for prop in spec.get("properties", []):
            link = _link(prop)
            if link:
                docs_version = link.group(1)
                configs.setdefault((link.group(2), link.group(3)), fqn)
                break
    schema: dict[str, Any] = {
        "provider": "hashicorp/aws",
        "provider_docs_version": docs_version,
        "source": f"{assembly['name']} {assembly['version']} (jsii assembly generated from the provider schema)",
        "resources": {},
        "data_sources": {},
    }
    for kind, names, section in (
        ("resources", resources, "resources"),
        ("data-sources", data_sources, "data_sources"),
    ):
        for name in sorted(names):
            fqn = configs.get((kind, name.removeprefix("aws_")))
            if fqn is None:
                raise SystemExit(f"{name}: not found in {assembly['name']} {assembly['version']}")
            schema[section][name] = describe(fqn, types) | {
                "readable": readable(fqn.removesuffix("Config"), types)
            }
    OUT.write_text(json.dumps(schema, indent=1, sort_keys=False) + "\n")
    print(
        f"wrote {OUT.relative_to(REPO)}: {len(schema['resources'])} resources, {len(schema['data_sources'])} data sources"
    )


if __name__ == "__main__":
    main()
