"""What every registry source is: the protocol, and one raw reference with its origin.

A source either yields *all* its references or raises RegistryError: a partial read would make unread
artifacts look like garbage, so it is never returned. Sources describe themselves as a plain ``spec`` dict
that goes into the plan header, so that ``apply`` re-reads exactly the same sources.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol


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
