"""Every file a user hands us is read here (EDGE): one place for encodings, byte-order marks and errors.

Text with a UTF-8, UTF-16 or UTF-32 byte-order mark is decoded by its mark (PowerShell writes UTF-16,
Notepad a UTF-8 mark); anything else must be UTF-8. A binary file (NUL bytes, or bytes that are not UTF-8), a
directory, a missing or unreadable path is one line naming the input and what to do, raised as the caller's
error type: usage (exit 2) for most inputs, RegistryError (exit 3) for registry manifests, which fail closed.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from artifact_gc.errors import GcError, UsageError

# Longest marks first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_text(data: bytes, what: str, error: type[GcError] = UsageError) -> str:
    """Decode a file's bytes as text, or raise ``error`` saying why it is not text."""
    encoding = "utf-8"
    for mark, name in _BOMS:
        if data.startswith(mark):
            data, encoding = data[len(mark) :], name
            break
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise error(
            f"{what} is not {encoding.upper()} text (byte {exc.start}: {exc.reason}): give a text file"
        ) from None
    if "\x00" in text:
        raise error(f"{what} holds NUL bytes: it looks binary, give a text file")
    return text


def read_text(path: Path, what: str, error: type[GcError] = UsageError) -> str:
    """Read a user's text file; ``what`` names it in messages (e.g. ``--policy gate.yaml``)."""
    try:
        if path.is_dir():
            raise error(f"{what} is a directory: give a file")
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"{what}: cannot read it ({exc.strerror or exc})") from None
    return decode_text(data, what, error)


def text_lines(path: Path, what: str, error: type[GcError] = UsageError) -> Iterator[str]:
    """A user's text file line by line, never whole: an audit log of millions of deletions is gigabytes.

    Lines end at "\\n" only, as JSON Lines does (a key holding U+2028 or U+0085, which ``json.dumps``
    leaves as they are, stays inside its line, where ``str.splitlines`` would cut it), and come without
    it. The refusals are :func:`read_text`'s, naming the line. A UTF-16 or UTF-32 file (by its mark) is
    read whole."""
    try:
        if path.is_dir():
            raise error(f"{what} is a directory: give a file")
        with path.open("rb") as handle:
            head = handle.read(4)
            if any(head.startswith(mark) for mark, name in _BOMS if name != "utf-8"):
                lines = read_text(path, what, error).split("\n")
                yield from lines[:-1] if lines[-1] == "" else lines
                return
            handle.seek(len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0)
            for number, raw in enumerate(handle, start=1):
                try:
                    line = raw.removesuffix(b"\n").decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise error(
                        f"{what} is not UTF-8 text (line {number}, byte {exc.start}: {exc.reason}): "
                        "give a text file"
                    ) from None
                if "\x00" in line:
                    raise error(f"{what} holds NUL bytes (line {number}): it looks binary, give a text file")
                yield line
    except OSError as exc:
        raise error(f"{what}: cannot read it ({exc.strerror or exc})") from None


def package_text(name: str) -> str:
    """A text file shipped inside the package (``data/...``, ``templates/...``)."""
    return resources.files("artifact_gc").joinpath(name).read_text(encoding="utf-8")
