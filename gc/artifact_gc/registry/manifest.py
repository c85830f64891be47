"""Manifest files (local or s3://): JSON, YAML, or one URI a line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import BotoCoreError, ClientError

from artifact_gc.aws import aws_message
from artifact_gc.config import DEFAULT_PATH_ATTRIBUTE
from artifact_gc.errors import ReferenceParseError, RegistryError
from artifact_gc.inputs import decode_text
from artifact_gc.registry.base import Reference


@dataclass
class ManifestSource:
    """A manifest file, local or ``s3://``: a JSON or YAML list (of URIs, or of objects holding the path
    attribute), or plain text with one URI per line (blank lines and lines starting with ``#`` ignored; an
    inline ``#`` protects both the whole line and the text before it)."""

    location: str
    path_attributes: tuple[str, ...] = (DEFAULT_PATH_ATTRIBUTE,)
    s3_client: Any = None

    @property
    def name(self) -> str:
        return f"manifest:{self.location}"

    def spec(self) -> dict[str, Any]:
        return {"type": "manifest", "location": self.location, "path_attributes": list(self.path_attributes)}

    def references(self) -> Iterator[Reference]:
        text = self._read()
        yield from parse_manifest(text, self.location, self.path_attributes)

    def _read(self) -> str:
        if self.location.startswith("s3://"):
            bucket, _, key = self.location[len("s3://") :].partition("/")
            if self.s3_client is None:
                raise RegistryError(f"manifest {self.location}: no S3 client to read it with")
            try:
                body = self.s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
            except (ClientError, BotoCoreError) as exc:
                raise RegistryError(f"manifest {self.location} cannot be read: {aws_message(exc)}") from exc
        else:
            try:
                body = Path(self.location).read_bytes()
            except OSError as exc:
                raise RegistryError(
                    f"manifest {self.location} cannot be read: {exc.strerror or exc}"
                ) from exc
        # A byte-order mark (PowerShell, Notepad) is not part of the first reference.
        return decode_text(body, f"manifest {self.location}", RegistryError)


def parse_manifest(text: str, location: str, path_attributes: Iterable[str]) -> Iterator[Reference]:
    """Parse a manifest's text by its name: ``.json``, ``.yaml``/``.yml``, anything else one URI a line."""
    path_attributes = tuple(path_attributes)
    lowered = location.lower()
    if lowered.endswith((".json", ".yaml", ".yml")):
        try:
            data = json.loads(text) if lowered.endswith(".json") else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise RegistryError(
                f"manifest {location} is not valid {'JSON' if lowered.endswith('.json') else 'YAML'}: "
                f"{str(exc).splitlines()[0]}"
            ) from exc
        if not isinstance(data, list):
            raise RegistryError(
                f"manifest {location} must hold a list of URIs or of objects, not {type(data).__name__}"
            )
        for index, entry in enumerate(data):
            origin = f"manifest {location} entry {index}"
            if isinstance(entry, dict):
                found = [attr for attr in path_attributes if entry.get(attr) is not None]
                if not found:
                    raise ReferenceParseError(
                        f"{origin} has none of the path attributes {list(path_attributes)}"
                    )
                for attr in found:
                    values = entry[attr] if isinstance(entry[attr], list) else [entry[attr]]
                    for value in values:
                        yield Reference(value, f"{origin} attribute {attr!r}")
            else:
                yield Reference(entry, origin)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        origin = f"manifest {location} line {number}"
        yield Reference(line, origin)
        # An inline "#" may start a comment ("s3://b/models/v1/   # serving") or belong to the key (keys
        # may hold "#" and spaces): the text before each "#" is another reading, protected too.
        for index, char in enumerate(line):
            if char == "#" and line[:index].strip():
                yield Reference(line[:index], f"{origin} (read up to '#')", alternative=True)
