"""The plan as Parquet, for plans of millions of candidates: the header in the file's key-value metadata
(``artifact_gc_header``), one row per candidate in key order. Read by the same checks as JSON Lines.

A plan written by Spark is a folder of Parquet parts (``part-00000-...parquet``, in key order by part
number, plus Spark's ``_SUCCESS``): Spark cannot write key-value metadata, so each part carries the header
in the ``key`` column's metadata (kept in Spark's row metadata). The folder is one plan only when every part
carries the same header; a missing or stray part is caught by the candidate count apply checks."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

from artifact_gc.collect.object_info import ObjectInfo
from artifact_gc.collect.planfile import Candidate, candidate_from_record, isoformat
from artifact_gc.errors import UsageError

T = TypeVar("T")
HEADER_KEY = b"artifact_gc_header"
HEADER_FIELD = "artifact_gc_header"  # the key column's metadata entry in a Spark-written part
SPARK_ROW_METADATA = b"org.apache.spark.sql.parquet.row.metadata"
MAGIC = b"PAR1"
_PART_NUMBER = re.compile(r"part-(\d+)")


def is_parquet(path: Path) -> bool:
    """A Parquet plan: a file that starts with Parquet's magic, or a folder (Spark writes plans as one)."""
    if path.is_dir():
        return True
    try:
        with path.open("rb") as handle:
            return handle.read(4) == MAGIC
    except OSError:
        return False


def modules() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise UsageError("a Parquet plan needs pyarrow: pip install 'artifact-gc[inventory]'") from exc
    return pa, pq


def write_parquet_plan(path: Path, header: dict[str, Any], batches: Iterable[Any]) -> None:
    pa, pq = modules()
    from artifact_gc.collect.columnar import CANDIDATE_SCHEMA

    schema = CANDIDATE_SCHEMA.with_metadata({HEADER_KEY: json.dumps(header, ensure_ascii=False).encode()})
    with pq.ParquetWriter(path, schema) as writer:
        for batch in batches:
            if batch.num_rows:
                writer.write_table(pa.Table.from_batches([batch]).select(schema.names).cast(schema))


def plan_parts(path: Path) -> list[Path]:
    """The Parquet parts of a plan: ``path`` itself, or a folder's parts by part number (files whose name
    starts with ``_`` or ``.`` are Spark's and Hadoop's bookkeeping, not candidates)."""
    if not path.is_dir():
        return [path]
    try:
        found = [p for p in path.iterdir() if not p.name.startswith(("_", "."))]
    except OSError as exc:
        raise UsageError(f"plan {path}: cannot read the folder ({exc.strerror or exc})") from exc
    if not found:
        raise UsageError(f"plan {path}: a folder without plan parts; plan again")

    def order(part: Path) -> tuple[int, str]:
        number = _PART_NUMBER.match(part.name)
        return (int(number.group(1)) if number else -1, part.name)

    return sorted(found, key=order)


def _part_header(path: Path) -> Any:
    _, pq = modules()
    try:
        metadata = pq.read_schema(path).metadata or {}
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError...: all mean "not a readable plan"
        raise UsageError(f"plan {path}: not a readable Parquet file ({exc}); plan again") from exc
    raw = metadata.get(HEADER_KEY)
    if raw is None and SPARK_ROW_METADATA in metadata:
        try:
            fields = json.loads(metadata[SPARK_ROW_METADATA]).get("fields", [])
            raw = next((f["metadata"].get(HEADER_FIELD) for f in fields if f.get("name") == "key"), None)
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, KeyError, TypeError):
            raw = None
    if raw is None:
        raise UsageError(f"plan {path}: a Parquet file without an artifact-gc plan header")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"plan {path}: its Parquet header is not JSON ({exc})") from exc


def read_parquet_header(path: Path) -> Any:
    """The header of a Parquet plan, file or folder; a folder's parts must all carry the same one."""
    parts = plan_parts(path)
    header = _part_header(parts[0])
    for part in parts[1:]:
        if _part_header(part) != header:
            raise UsageError(
                f"plan {path}: part {part.name} belongs to another plan than {parts[0].name}; "
                "copy the plan folder whole from where it was written, or plan again"
            )
    return header


def iter_parquet_candidates(path: Path) -> Iterator[Candidate]:
    return _each_batch(path, _column_candidates, _record_candidates)


def iter_parquet_keys(path: Path) -> Iterator[str]:
    """The candidates' keys, each candidate checked as :func:`iter_parquet_candidates` checks it, without
    building it when its batch's columns are plain (:func:`_plain_columns`)."""
    return _each_batch(
        path,
        lambda batch: batch.column("key").to_pylist(),
        lambda batch, path, row: (candidate.obj.key for candidate in _record_candidates(batch, path, row)),
    )


def _each_batch(
    path: Path, columns: Callable[[Any], Iterable[T]], records: Callable[[Any, Path, int], Iterable[T]]
) -> Iterator[T]:
    """``columns(batch)`` of each batch of the plan's parts whose columns are plain, ``records(batch, path,
    rows before it)`` of the others; a part that cannot be read is named (exit 2)."""
    _, pq = modules()
    row = 0
    for part in plan_parts(path):
        try:
            for batch in pq.ParquetFile(part).iter_batches(batch_size=65536):
                yield from (columns(batch) if _plain_columns(batch) else records(batch, path, row))
                row += batch.num_rows
        except UsageError:
            raise
        except Exception as exc:  # a damaged file: name it, as the JSON Lines reader does
            raise UsageError(f"plan {part}: cannot read its candidates ({exc}); plan again") from exc


def _record_candidates(batch: Any, path: Path, row: int) -> Iterator[Candidate]:
    """A batch's candidates record by record, through :func:`candidate_from_record`: the authority on
    what a candidate is, and the reader that names a bad row."""
    for record in batch.to_pylist():
        row += 1
        moment = record.get("last_modified")
        if moment is not None and not isinstance(moment, str):
            record["last_modified"] = isoformat(moment)
        record.setdefault("version_id", None)
        yield candidate_from_record(record, f"plan {path} row {row}")


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_FIRST_MICROSECOND = (datetime.min.replace(tzinfo=timezone.utc) - _EPOCH) // timedelta(microseconds=1)
_LAST_MICROSECOND = (datetime.max.replace(tzinfo=timezone.utc) - _EPOCH) // timedelta(microseconds=1)
_OPTIONAL = ("storage_class", "current_version_id", "prefix")  # text columns a plan may leave out


def _plain_columns(batch: Any) -> bool:
    """Whether a batch's candidates can be read column by column: every column of the type the plan
    writers write, and no value :func:`candidate_from_record` would refuse or convert: text key and ETag,
    whole sizes of 0 or more, UTC instants in whole microseconds within Python's years, no nulls where a
    candidate needs a value, no version ids. Else the batch goes record by record to
    :func:`_record_candidates`, which builds the same candidates or names the bad row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names = set(batch.schema.names)
    if not batch.num_rows or "version_id" in names or not {"key", "etag", "size", "last_modified"} <= names:
        return False
    column = batch.column
    text = (pa.types.is_string, pa.types.is_large_string)
    moment = column("last_modified").type
    if not (
        all(any(test(column(n).type) for test in text) for n in ("key", "etag"))
        and all(
            any(test(column(n).type) for test in (*text, pa.types.is_null)) for n in _OPTIONAL if n in names
        )
        and pa.types.is_integer(column("size").type)
        and pa.types.is_timestamp(moment)
        and moment.tz == "UTC"  # as DuckDB, Spark and pyarrow write it; another zone's years end elsewhere
        and not any(column(n).null_count for n in ("key", "etag", "size", "last_modified"))
        and ("prefix" not in names or not column("prefix").null_count)
    ):
        return False
    try:
        micros = pc.min_max(_micros(column("last_modified")))
    except pa.ArrowInvalid:  # finer than a microsecond, or beyond int64 microseconds
        return False
    return (
        pc.min(column("size")).as_py() >= 0
        and micros["min"].as_py() >= _FIRST_MICROSECOND
        and micros["max"].as_py() <= _LAST_MICROSECOND
    )


def _micros(moments: Any) -> Any:
    """Timestamps as whole microseconds since the epoch (UTC)."""
    import pyarrow as pa

    return moments.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())


def _column_candidates(batch: Any) -> list[Candidate]:
    """The candidates of a batch of :func:`_plain_columns`, column by column: a plan of millions is read
    in seconds, not minutes."""
    names = set(batch.schema.names)

    def optional(name: str, absent: Any) -> list[Any]:
        return batch.column(name).to_pylist() if name in names else [absent] * batch.num_rows

    micros = _micros(batch.column("last_modified"))
    return [
        Candidate(
            ObjectInfo(
                key=key,
                size=size,
                last_modified=_EPOCH + timedelta(microseconds=us),
                etag=etag,
                storage_class=storage_class or "STANDARD",
                current_version_id=current,
            ),
            prefix,
        )
        for key, size, us, etag, storage_class, current, prefix in zip(
            batch.column("key").to_pylist(),
            batch.column("size").to_pylist(),
            micros.to_pylist(),
            batch.column("etag").to_pylist(),
            optional("storage_class", None),
            optional("current_version_id", None),
            optional("prefix", ""),
            strict=True,
        )
    ]
