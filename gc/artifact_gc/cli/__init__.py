"""The ``artifact-gc`` command line: parse options, call the core, print. No decisions here."""

from artifact_gc.cli.app import app, main

__all__ = ["app", "main"]
