"""inputs.text_lines: a user's file line by line, as the whole-file reader would read it, never whole."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artifact_gc.errors import UsageError
from artifact_gc.inputs import read_text, text_lines

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-32")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))),
    encoding=st.sampled_from(ENCODINGS),
)
def test_lines_are_the_whole_texts_lines_at_newlines_only(tmp_path: Path, text: str, encoding: str) -> None:
    path = tmp_path / "file.txt"
    path.write_bytes(text.encode(encoding))
    whole = read_text(path, "file")  # what the whole-file reader decodes (a leading U+FEFF is a mark)
    expected = whole.split("\n")
    if expected[-1] == "":
        expected.pop()
    assert list(text_lines(path, "file")) == expected


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"a": 1}\n{"b": "\xff"}\n', "file is not UTF-8 text (line 2, byte 7: invalid start byte)"),
        (b"ok\nok\n\x00\x01\n", "file holds NUL bytes (line 3): it looks binary"),
    ],
)
def test_a_binary_line_is_refused_naming_it(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "file.txt"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        list(text_lines(path, "file"))


def test_folders_and_missing_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a directory"):
        list(text_lines(tmp_path, "file"))
    with pytest.raises(UsageError, match="cannot read it"):
        list(text_lines(tmp_path / "absent", "file"))


def test_a_utf16_file_with_a_mark_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "file.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + "a\u2028b\nc\n".encode("utf-16-le"))
    assert list(text_lines(path, "file")) == ["a\u2028b", "c"]
