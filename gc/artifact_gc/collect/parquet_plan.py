"""The plan as Parquet, for plans of millions of candidates: the header in the file's key-value metadata
(``artifact_gc_header``), one row per candidate in key order. Read by the same checks as JSON Lines.

A plan written by Spark is a folder of Parquet parts (``part-00000-...parquet``, in key order by part
number, plus Spark's ``_SUCCESS``): Spark cannot write key-value metadata, so each part carries the header
in the ``key`` column's metadata (kept in Spark's row metadata). The folder is one plan only when every part
carries the same header; a missing or stray part is caught by the candidate count apply checks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from artifact_gc.collect.planfile import Candidate, candidate_from_record, isoformat
from artifact_gc.errors import UsageError

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
    _, pq = modules()
    row = 0
    for part in plan_parts(path):
        try:
            handle = pq.ParquetFile(part)
            for batch in handle.iter_batches(batch_size=65536):
                for record in batch.to_pylist():
                    row += 1
                    moment = record.get("last_modified")
                    if moment is not None and not isinstance(moment, str):
                        record["last_modified"] = isoformat(moment)
                    record.setdefault("version_id", None)
                    yield candidate_from_record(record, f"plan {path} row {row}")
        except UsageError:
            raise
        except Exception as exc:  # a damaged file: name it, as the JSON Lines reader does
            raise UsageError(f"plan {part}: cannot read its candidates ({exc}); plan again") from exc
