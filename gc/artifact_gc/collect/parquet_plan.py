"""The plan as Parquet, for plans of millions of candidates: the header in the file's key-value metadata
(``artifact_gc_header``), one row per candidate in key order. Read by the same checks as JSON Lines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from artifact_gc.collect.planfile import Candidate, candidate_from_record, isoformat
from artifact_gc.errors import UsageError

HEADER_KEY = b"artifact_gc_header"
MAGIC = b"PAR1"


def is_parquet(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == MAGIC
    except OSError:
        return False


def _modules() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise UsageError("a Parquet plan needs pyarrow: pip install 'artifact-gc[inventory]'") from exc
    return pa, pq


def write_parquet_plan(path: Path, header: dict[str, Any], batches: Iterable[Any]) -> None:
    pa, pq = _modules()
    from artifact_gc.collect.columnar import CANDIDATE_SCHEMA

    schema = CANDIDATE_SCHEMA.with_metadata({HEADER_KEY: json.dumps(header, ensure_ascii=False).encode()})
    with pq.ParquetWriter(path, schema) as writer:
        for batch in batches:
            if batch.num_rows:
                writer.write_table(pa.Table.from_batches([batch]).select(schema.names).cast(schema))


def read_parquet_header(path: Path) -> Any:
    _, pq = _modules()
    try:
        metadata = pq.read_schema(path).metadata or {}
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError...: all mean "not a readable plan"
        raise UsageError(f"plan {path}: not a readable Parquet file ({exc}); plan again") from exc
    raw = metadata.get(HEADER_KEY)
    if raw is None:
        raise UsageError(f"plan {path}: a Parquet file without an artifact-gc plan header")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"plan {path}: its Parquet header is not JSON ({exc})") from exc


def iter_parquet_candidates(path: Path) -> Iterator[Candidate]:
    _, pq = _modules()
    try:
        handle = pq.ParquetFile(path)
        row = 0
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
        raise UsageError(f"plan {path}: cannot read its candidates ({exc}); plan again") from exc
