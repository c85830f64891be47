"""Expected failures and the exit codes they map to.

Every error a user can cause or meet is one of these; the CLI prints its message on one line and exits
with its code. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_USAGE = 2
EXIT_SAFETY = 3


class GcError(Exception):
    """Base of all expected errors; ``exit_code`` says how the CLI ends."""

    exit_code = EXIT_RUNTIME


class UsageError(GcError):
    """Bad usage or bad input (a flag, a config file, a plan file): exit 2."""

    exit_code = EXIT_USAGE


class SafetyError(GcError):
    """A safety interlock refused to proceed; nothing was deleted: exit 3."""

    exit_code = EXIT_SAFETY


class ReferenceParseError(SafetyError):
    """A registry reference could not be parsed: we cannot know what it protects, so we refuse."""


class RegistryError(SafetyError):
    """A registry source could not be read completely: we cannot know what is referenced, so we refuse."""


class AwsError(GcError):
    """An AWS call failed in a way that is not a safety question (network, permissions on listing)."""
