"""The plan file: JSON Lines, a header object on line 1, then one candidate per line.

Candidates are streamed to a temporary body file while the bucket is listed (memory does not grow with
their number); the header, which holds the totals, is known only at the end, so :meth:`PlanWriter.finish`
writes header + body to a temporary file and renames it into place: a reader never sees a half plan.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from artifact_gc.collect.object_info import ObjectInfo
from artifact_gc.errors import UsageError

PLAN_KIND = "artifact-gc-plan"
PLAN_FORMAT_VERSION = 1


def isoformat(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return moment.astimezone(timezone.utc)


def candidate_record(obj: ObjectInfo, prefix: str) -> dict[str, Any]:
    return {
        "key": obj.key,
        "version_id": obj.version_id,  # None = the current version (JSON null); never the string "null"
        "current_version_id": obj.current_version_id,  # may be the string "null" (versioning suspended)
        "size": obj.size,
        "last_modified": isoformat(obj.last_modified),
        "storage_class": obj.storage_class,
        "etag": obj.etag,
        "prefix": prefix,
    }


@dataclass(frozen=True)
class Candidate:
    """One planned deletion as read back from a plan file."""

    obj: ObjectInfo
    prefix: str


def candidate_from_record(record: Any, where: str) -> Candidate:
    try:
        if not isinstance(record, dict):
            raise TypeError("not an object")
        version_id = record["version_id"]
        current = record.get("current_version_id")
        if not isinstance(record["key"], str) or not isinstance(record["etag"], str):
            raise TypeError("key and etag must be strings")
        if version_id is not None and not isinstance(version_id, str):
            raise TypeError("version_id must be a string or null")
        size = record["size"]
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise TypeError("size must be a whole number of bytes")
        obj = ObjectInfo(
            key=record["key"],
            size=size,
            last_modified=parse_iso(record["last_modified"]),
            etag=record["etag"],
            storage_class=str(record.get("storage_class") or "STANDARD"),
            version_id=version_id,
            current_version_id=current,
        )
        return Candidate(obj, str(record.get("prefix", "")))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"{where}: not a valid plan candidate ({exc})") from exc


class PlanWriter:
    """Stream candidates, then :meth:`finish` with the header. Use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        directory = path.parent if str(path.parent) else Path(".")
        try:
            directory.mkdir(parents=True, exist_ok=True)
            # closed in __exit__: the body lives across write() and finish() calls
            self._body: IO[str] = tempfile.NamedTemporaryFile(  # noqa: SIM115
                "w+", encoding="utf-8", dir=directory, prefix=f".{path.name}.", suffix=".body", delete=False
            )
        except OSError as exc:
            raise UsageError(f"--out {path}: cannot write there ({exc.strerror or exc})") from exc

    def __enter__(self) -> PlanWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._body.close()
        Path(self._body.name).unlink(missing_ok=True)

    def write(self, candidates: Iterable[ObjectInfo], prefix: str) -> None:
        dumps = json.dumps
        for obj in candidates:
            self._body.write(dumps(candidate_record(obj, prefix), ensure_ascii=False) + "\n")
            self.count += 1

    def write_lines(self, lines: Iterable[str]) -> None:
        """Candidate lines already made by :func:`candidate_record` (merged from parallel listings)."""
        for line in lines:
            self._body.write(line)
            self.count += 1

    def finish(self, header: dict[str, Any]) -> None:
        header = sealed_header(header)
        self._body.flush()
        self._body.seek(0)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        if self.path.suffix == ".parquet":
            from artifact_gc.collect.parquet_plan import write_parquet_plan

            write_parquet_plan(tmp, header, _candidate_batches(self._body))
            fsync_file(tmp)
        else:
            with tmp.open("w", encoding="utf-8") as out:
                out.write(json.dumps(header, ensure_ascii=False) + "\n")
                shutil.copyfileobj(self._body, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, self.path)


def _candidate_batches(lines: Iterable[str], rows: int = 65536) -> Iterator[Any]:
    """Candidate lines (:func:`candidate_record`) as Arrow batches of the Parquet plan's columns, in order.
    A Parquet plan names current versions only: it has no version_id column."""
    import pyarrow as pa

    from artifact_gc.collect.columnar import CANDIDATE_SCHEMA

    def parquet_record(line: str) -> dict[str, Any]:
        record = json.loads(line)
        if record.pop("version_id") is not None:
            raise ValueError("a Parquet plan names current versions only")
        record["last_modified"] = parse_iso(record["last_modified"])
        return record

    records = map(parquet_record, lines)
    for chunk in iter(lambda: list(itertools.islice(records, rows)), []):
        yield pa.RecordBatch.from_pylist(chunk, schema=CANDIDATE_SCHEMA)


def sealed_header(header: dict[str, Any]) -> dict[str, Any]:
    """A plan's header as every writer writes it: kind and format version first, then ``header``, then
    its digest."""
    sealed = {"kind": PLAN_KIND, "format_version": PLAN_FORMAT_VERSION, **header}
    sealed["header_digest"] = header_digest(sealed)
    return sealed


def fsync_file(path: Path) -> None:
    """Flush a file another library wrote (pyarrow, DuckDB) to disk before it is renamed into place."""
    with path.open("rb") as written:
        os.fsync(written.fileno())


def header_digest(header: dict[str, Any]) -> str:
    """A digest of the header's content: an edited header (another bucket, scope or registry) is caught as
    such, instead of failing later for a side reason."""
    body = {k: v for k, v in header.items() if k != "header_digest"}
    return (
        "sha256:"
        + hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8", "surrogatepass")).hexdigest()
    )


def read_header(path: Path) -> dict[str, Any]:
    """The plan's header; UsageError (exit 2) when the file is not an artifact-gc plan."""
    from artifact_gc.collect.parquet_plan import is_parquet, read_parquet_header

    if is_parquet(path):
        return check_header(path, read_parquet_header(path))
    try:
        with path.open(encoding="utf-8") as handle:
            first = handle.readline()
    except OSError as exc:
        raise UsageError(f"plan {path}: cannot read it ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"plan {path}: not UTF-8 text, not a plan written by `artifact-gc plan`") from exc
    if not first.strip():
        raise UsageError(f"plan {path} is empty: write one with `artifact-gc plan --out {path}`")
    try:
        header = json.loads(first)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"plan {path}: line 1 is not JSON ({exc.msg}); is this a plan written by `artifact-gc plan`?"
        ) from exc
    return check_header(path, header)


def check_header(path: Path, header: Any) -> dict[str, Any]:
    """A plan header of either form: kind, digest and format version."""
    if not isinstance(header, dict) or header.get("kind") != PLAN_KIND:
        raise UsageError(f"plan {path}: line 1 is not an artifact-gc plan header")
    if "header_digest" in header and header["header_digest"] != header_digest(header):
        raise UsageError(
            f"plan {path}: its header was edited after `artifact-gc plan` wrote it (bucket "
            f"{header.get('bucket')!r}, scope or registry no longer match its digest): plan again"
        )
    if header.get("format_version") != PLAN_FORMAT_VERSION:
        raise UsageError(
            f"plan {path}: format version {header.get('format_version')!r} is not {PLAN_FORMAT_VERSION}; "
            "re-run `artifact-gc plan` with this version"
        )
    return header


def iter_candidates(path: Path) -> Iterator[Candidate]:
    """Stream the candidates; a malformed line raises UsageError naming the line."""
    from artifact_gc.collect.parquet_plan import is_parquet, iter_parquet_candidates

    if is_parquet(path):
        yield from iter_parquet_candidates(path)
        return
    try:
        yield from _candidates(path)
    except UnicodeDecodeError as exc:
        raise UsageError(f"plan {path}: not UTF-8 text (byte {exc.start} of a line): plan again") from exc
    except OSError as exc:
        raise UsageError(f"plan {path}: cannot read it ({exc.strerror or exc})") from exc


def _candidates(path: Path) -> Iterator[Candidate]:
    with path.open(encoding="utf-8") as handle:
        handle.readline()
        for number, line in enumerate(handle, start=2):
            if not line.strip():
                continue
            where = f"plan {path} line {number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{where}: not JSON ({exc.msg})") from exc
            yield candidate_from_record(record, where)


def iter_candidate_keys(path: Path) -> Iterator[str]:
    """The candidates' keys, each candidate checked as :func:`iter_candidates` checks it (a Parquet
    plan's are read column by column, without building the candidates)."""
    from artifact_gc.collect.parquet_plan import is_parquet, iter_parquet_keys

    if is_parquet(path):
        return iter_parquet_keys(path)
    return (candidate.obj.key for candidate in iter_candidates(path))


def planned_keys(path: Path) -> Iterator[str]:
    """A plan's candidate keys, in the plan's order; a plan out of key order is refused, as apply
    refuses it (plans are written in strictly increasing key order)."""
    previous: str | None = None
    for key in iter_candidate_keys(path):
        if previous is not None and key <= previous:
            raise UsageError(
                f"plan {path}: candidate {key!r} is out of key order (after {previous!r}); plan again"
            )
        previous = key
        yield key


class PlannedKeys:
    """Whether a key is one of a plan's candidates, without holding them (a plan of 30M candidates would
    be gigabytes as a set). Plans are written in strictly increasing key order, so questions asked in key
    order advance one stream through the plan; a question that goes back (a walk's next scope prefix)
    reopens it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._restart()

    def _restart(self) -> None:
        self._stream = planned_keys(self.path)
        self._asked: str | None = None
        self._current: str | None = None
        self._advance()

    def _advance(self) -> None:
        self._current = next(self._stream, None)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        if self._asked is not None and key < self._asked:
            self._restart()
        self._asked = key
        while self._current is not None and self._current < key:
            self._advance()
        return self._current == key
