"""What every registry source is: the protocol, and one raw reference with its origin.

A source either yields *all* its references or raises RegistryError: a partial read would make unread
artifacts look like garbage, so it is never returned. Sources describe themselves as a plain ``spec`` dict
that goes into the plan header, so that ``apply`` re-reads exactly the same sources.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from artifact_gc.errors import RegistryError


@dataclass(frozen=True)
class Reference:
    """One raw reference and where it came from (for error messages)."""

    value: Any
    origin: str
    # Another reading of a reference already yielded (e.g. a manifest line read up to an inline "#"):
    # it protects like any reference but is not counted as one more.
    alternative: bool = False


class RegistrySource(Protocol):
    """A place that lists artifact locations still in use."""

    @property
    def name(self) -> str:
        """Short human name, e.g. ``dynamodb:model-registry``."""
        ...

    def spec(self) -> dict[str, Any]:
        """JSON-able description recorded in the plan header; :func:`source_from_spec` rebuilds it."""
        ...

    def references(self) -> Iterator[Reference]:
        """Yield every reference; raise RegistryError if the source cannot be read completely."""
        ...


def url_from_env(url: str, source: str) -> str:
    """A source's URL as given, or, for ``env:VAR``, read from the environment now (at plan and again at
    apply): credentials stay out of command lines, plans and logs. RegistryError when VAR is unset."""
    if not url.startswith("env:"):
        return url
    variable = url[len("env:") :]
    value = os.environ.get(variable)
    if not value:
        raise RegistryError(f"{source}: environment variable {variable} is not set")
    return value
