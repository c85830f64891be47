"""Run the columnar mark over an inventory's data files with DuckDB, and write the plan from its candidates.

Memory stays bounded whatever the number of objects: DuckDB streams the data files in row groups, the
decisions go to a scratch Parquet file (on disk), and the key-ordered plan is written by DuckDB's sort,
which spills to disk beyond ``memory_limit``. Only the references live in memory whole.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from artifact_gc.collect.columnar import (
    CANDIDATE_COLUMNS,
    ReferenceTables,
    add_counts,
    bucket_columns,
    counts_sql,
    current_objects_sql,
    decision_sql,
    kept_sql,
    sql_literal,
)
from artifact_gc.collect.mark import MarkStats
from artifact_gc.collect.planfile import fsync_file, isoformat, planned_keys, sealed_header
from artifact_gc.errors import SafetyError, UsageError
from artifact_gc.objects.inventory import Delivery, all_data_files, find_delivery
from artifact_gc.objects.inventory_manifest import InventoryManifest
from artifact_gc.refs.reachability import ReferenceSet

BATCH_ROWS = 1 << 20
INSTALL_HINT = "pip install 'artifact-gc[inventory]'"


def _modules() -> tuple[Any, Any, Any]:
    try:
        import duckdb
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise UsageError(
            f"--inventory needs pyarrow and DuckDB ({exc.name} is missing): {INSTALL_HINT}"
        ) from exc
    return duckdb, pa, pq


def connect(scratch: Path, memory_limit: str = "1GB") -> Any:
    duckdb, _, _ = _modules()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = {sql_literal(memory_limit, 'memory limit')}")
    con.execute(f"SET temp_directory = {sql_literal(str(scratch), 'scratch folder')}")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")  # it writes to stdout, where --json output goes
    threads = os.environ.get("ARTIFACT_GC_THREADS", "").strip()
    if threads:
        if not (threads.isascii() and threads.isdigit()) or int(threads) < 1:
            raise UsageError(
                f"ARTIFACT_GC_THREADS {threads!r}: expected a whole number of threads, 1 or more"
            )
        con.execute(f"SET threads = {int(threads)}")
    return con


def _raw_sql(manifest: InventoryManifest, paths: list[Path], con: Any) -> str:
    """The data files as rows of the manifest's columns (CSV columns all text, as written)."""
    columns = manifest.columns
    where = "[" + ", ".join(sql_literal(str(path), "inventory data file") for path in paths) + "]"
    if manifest.file_format == "CSV":
        spec = "{" + ", ".join(f"{sql_literal(c, 'column')}: 'VARCHAR'" for c in columns) + "}"
        return (
            f"SELECT * FROM read_csv({where}, header = false, columns = {spec}, delim = ',', quote = '\"', "
            "escape = '\"', auto_detect = false, compression = 'auto', strict_mode = true)"
        )
    if manifest.file_format == "ORC":
        import pyarrow.dataset as ds

        name = f"orc_{abs(hash(tuple(str(p) for p in paths)))}"
        con.register(name, ds.dataset([str(p) for p in paths], format="orc"))
        return f"SELECT * FROM {name}"
    return f"SELECT * FROM read_parquet({where})"


@contextlib.contextmanager
def _reading(delivery: Delivery, s3: Any, purpose: str) -> Iterator[tuple[Any, Path, list[Path]]]:
    """The delivery's data files, fetched and checked, a scratch folder and a DuckDB connection. A data
    file DuckDB cannot read as the manifest says is refused (exit 3), for a plan as for a report."""
    duckdb, _, _ = _modules()
    with tempfile.TemporaryDirectory(prefix=f"artifact-gc-{purpose}-") as scratch_name:
        scratch = Path(scratch_name)
        paths = all_data_files(delivery, s3, scratch)
        con = connect(scratch)
        try:
            yield con, scratch, paths
        except duckdb.Error as exc:
            raise SafetyError(
                f"inventory {delivery.location}: its data files cannot be read as "
                f"{delivery.manifest.file_format} with the manifest's schema: {str(exc).splitlines()[0]}"
            ) from exc
        finally:
            con.close()


def source_sql(manifest: InventoryManifest, paths: list[Path], versioned: bool, con: Any) -> str:
    """The data files as OBJECT_SCHEMA rows of current objects (no delete markers, no noncurrent versions)."""
    raw = _raw_sql(manifest, paths, con)
    return current_objects_sql(raw, manifest.file_format, manifest.columns, versioned)


def load_refs(con: Any, refs: ReferenceSet | ReferenceTables) -> None:
    """The tables the mark's SQL reads (:class:`ReferenceTables`, :func:`columnar.matched_sql`): ``refs``
    and ``ext``, each a row per level and start with its texts (:func:`columnar.bucket_columns`)."""
    _, pa, _ = _modules()
    tables = refs if isinstance(refs, ReferenceTables) else ReferenceTables.of(refs)
    for name, levels in (("refs", tables.ref_levels), ("ext", tables.ext_levels)):
        columns = bucket_columns(levels, tables.bound)
        types = {"lvl": pa.int32()}
        arrow = pa.table({c: pa.array(v, types.get(c, pa.string())) for c, v in columns.items()})
        con.register(f"{name}_arrow", arrow)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {name}_arrow")
        con.unregister(f"{name}_arrow")


def _batches(result: Any) -> Any:
    """A streaming Arrow reader of a relation (DuckDB 2 names it to_arrow_reader; 1.x fetch_arrow_reader)."""
    reader = getattr(result, "to_arrow_reader", None) or result.fetch_arrow_reader
    return reader(BATCH_ROWS)


def _write_plan(con: Any, query: str, params: dict[str, Any], out: Path, header: dict[str, Any]) -> None:
    """Write the plan in key order (JSON Lines, or Parquet when ``out`` ends in .parquet), atomically."""
    header = sealed_header(header)
    directory = out.parent if str(out.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{out.name}.", suffix=".tmp")
        os.close(handle)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write there ({exc.strerror or exc})") from exc
    tmp = Path(tmp_name)
    try:
        if out.suffix == ".parquet":
            # DuckDB writes it (in parallel, in ORDER BY order), the header in the file's metadata
            from artifact_gc.collect.parquet_plan import HEADER_KEY

            metadata = sql_literal(json.dumps(header, ensure_ascii=False), "plan header")
            con.execute(
                f"COPY ({query}) TO {sql_literal(str(tmp), 'plan file')} "
                f"(FORMAT parquet, KV_METADATA {{{HEADER_KEY.decode()}: {metadata}}})",
                params or None,
            )
            fsync_file(tmp)
        else:
            rows = _batches(con.sql(query, params=params or None))
            with tmp.open("w", encoding="utf-8") as plan:
                plan.write(json.dumps(header, ensure_ascii=False) + "\n")
                for batch in rows:
                    for row in batch.to_pylist():
                        row["version_id"] = None
                        row["last_modified"] = isoformat(row["last_modified"])
                        plan.write(json.dumps(row, ensure_ascii=False) + "\n")
                plan.flush()
                os.fsync(plan.fileno())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def delivery_snapshot(delivery: Delivery) -> dict[str, Any]:
    """What the plan header records of the inventory it was planned from (``object_source.inventory``)."""
    manifest = delivery.manifest
    return {
        "manifest": delivery.location,
        "created_at": isoformat(manifest.created_at),
        "format": manifest.file_format,
        "all_versions": manifest.versions,
        "files": len(manifest.files),
    }


@dataclass(frozen=True)
class InventoryMark:
    """What marking an inventory delivery needs, whichever engine runs it (DuckDB here, or Spark)."""

    location: str  # --inventory: a manifest.json or a configuration's folder
    s3: Any
    bucket: str
    now: datetime
    max_age_seconds: float
    refs: ReferenceSet
    cutoff: datetime
    prefixes: tuple[str, ...]
    keep_globs: tuple[str, ...]
    versioned: bool

    def delivery(self) -> Delivery:
        """The newest complete delivery, checked (checksum, source bucket, age): exit 3 otherwise."""
        return find_delivery(self.location, self.s3, self.bucket, self.now, self.max_age_seconds)


def plan_from_inventory(
    job: InventoryMark,
    stats: MarkStats,
    out: Path,
    header_for: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """Plan from the newest complete delivery at ``location``; return the header written.

    DuckDB decides every row once, into a scratch Parquet file; then, from that file: the counts and the
    largest candidates in one aggregate, and the candidates, sorted by key (spilling to disk past the
    memory limit) and written as the plan. No row of the bucket passes through Python but the plan's."""
    _modules()
    delivery = job.delivery()
    manifest = delivery.manifest
    snapshot = delivery_snapshot(delivery)
    with _reading(delivery, job.s3, "mark") as (con, scratch, paths):
        tables = ReferenceTables.of(job.refs)
        load_refs(con, tables)
        source = source_sql(manifest, paths, job.versioned, con)
        decided = decision_sql(source, tables, job.prefixes, job.keep_globs)
        # The decisions are made once, in one parallel pass, and kept in a scratch Parquet file with
        # only what the later passes read: the plan's columns of candidates, the counters' of every row.
        kept = scratch / "decided.parquet"
        con.execute(
            f"COPY ({kept_sql(decided)}) TO {sql_literal(str(kept), 'scratch file')} (FORMAT parquet)",
            {"cutoff": job.cutoff},
        )
        decisions = f"SELECT * FROM read_parquet({sql_literal(str(kept), 'scratch file')})"
        add_counts(con.sql(counts_sql(decisions, stats.largest_limit)).fetchall(), stats)
        header = header_for(snapshot)
        _write_plan(
            con,
            f"SELECT {', '.join(CANDIDATE_COLUMNS)} FROM ({decisions}) WHERE decision = 0 ORDER BY key",
            {},
            out,
            header,
        )
    return header


# The decided rows a distributed engine hands back from its workers (kept_sql's columns): what its
# aggregates and the plan read, with their Spark SQL types.
DECIDED_COLUMNS = (
    ("decision", "int"),
    ("prefix", "string"),
    ("storage_class", "string"),
    ("size", "bigint"),
    ("non_folder", "boolean"),
    ("key", "string"),
    ("last_modified", "timestamp"),
    ("etag", "string"),
    ("current_version_id", "string"),
)
DECIDED_SPARK_SCHEMA = ", ".join(f"{name} {kind}" for name, kind in DECIDED_COLUMNS)


class MalformedInventory(ValueError):
    """Rows of current objects without a key, size, date or ETag: the file is not what its manifest says."""


CURRENT_BATCH = "SELECT * FROM current_batch"  # what an executor's decision SQL reads (decide_batches)


def decide_batches(
    batches: Iterator[Any],
    source_sql: str,
    decided_sql: str,
    tables: ReferenceTables,
    cutoff: datetime,
) -> Iterator[Any]:
    """Decide a stream of raw inventory batches with the mark's SQL, in a one-thread DuckDB: the function a
    Spark executor runs on each partition (``mapInArrow``), so Spark applies exactly the embedded engine's
    decisions. ``source_sql`` turns a raw batch (table ``inventory_batch``) into current objects, once;
    ``decided_sql`` decides them (:data:`CURRENT_BATCH`). A current row without a key, size, date or ETag
    fails the task: a lenient reader (Spark's CSV fills missing columns with NULL) must not turn a damaged
    file into no objects. The candidate columns are kept for candidates only."""
    duckdb, pa, _ = _modules()
    import pyarrow.compute as pc

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET threads = 1")  # the engine runs one task per core
        con.execute("SET enable_progress_bar = false")
        load_refs(con, tables)
        for batch in batches:
            if not batch.num_rows:
                continue
            con.register("inventory_batch", batch)
            current = con.sql(source_sql).to_arrow_table()
            con.unregister("inventory_batch")
            missing = [pc.is_null(current.column(c)) for c in ("key", "size", "last_modified", "etag")]
            malformed = pc.sum(functools.reduce(pc.or_, missing)).as_py()
            if malformed:
                raise MalformedInventory(
                    f"{malformed} rows of current objects lack a key, size, date or ETag"
                )
            con.register("current_batch", current)
            rows = con.sql(kept_sql(decided_sql), params={"cutoff": cutoff}).to_arrow_table()
            con.unregister("current_batch")
            yield from rows.cast(_DECIDED_ARROW(pa)).to_batches()
    finally:
        con.close()


def _DECIDED_ARROW(pa: Any) -> Any:
    """:data:`DECIDED_COLUMNS` as the Arrow schema a worker's batches carry (Spark reads timestamps as UTC)."""
    arrow = {
        "int": pa.int32(),
        "bigint": pa.int64(),
        "string": pa.string(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
    }
    return pa.schema([(name, arrow[kind]) for name, kind in DECIDED_COLUMNS])


def load_planned(con: Any, plan: Path) -> None:
    """The plan's candidate keys as table ``planned(key)``: a Parquet plan's read by DuckDB from its
    files (no key passes through Python), a JSON Lines plan's in chunks. The caller has read the plan
    through :func:`planfile.planned_keys` already, which refuses a malformed one naming the row."""
    duckdb, pa, _ = _modules()
    from artifact_gc.collect.parquet_plan import is_parquet, plan_parts

    if not is_parquet(plan):
        con.execute("CREATE TABLE planned (key VARCHAR)")
        keys = planned_keys(plan)
        for chunk in iter(lambda: list(itertools.islice(keys, BATCH_ROWS)), []):
            con.register("planned_chunk", pa.table({"key": pa.array(chunk, pa.string())}))
            con.execute("INSERT INTO planned SELECT key FROM planned_chunk")
            con.unregister("planned_chunk")
        return
    parts = "[" + ", ".join(sql_literal(str(part), "plan file") for part in plan_parts(plan)) + "]"
    try:
        con.execute(f"CREATE TABLE planned AS SELECT CAST(key AS VARCHAR) AS key FROM read_parquet({parts})")
    except duckdb.Error as exc:  # a plan pyarrow reads but DuckDB does not: name the plan, not the inventory
        raise UsageError(
            f"plan {plan}: cannot read its keys ({str(exc).splitlines()[0]}); plan again"
        ) from exc


def report_from_inventory(
    location: str,
    s3: Any,
    bucket: str,
    now: datetime,
    max_age_seconds: float,
    prefixes: tuple[str, ...],
    inventory: Any,
    builders: Sequence[Any],
    excluded_in: Sequence[bool],
    plan: Path | None = None,
) -> None:
    """Fill the report's ``inventory`` and scenario ``builders`` from the newest complete delivery at
    ``location``, as a listing fills them version by version: DuckDB aggregates the versions
    (``report.inventory_aggregates``) and only the groups reach Python. The candidates of ``plan`` (read
    and checked already) go to a table DuckDB can spill (:func:`load_planned`), so a huge plan is not
    held in memory either."""
    from artifact_gc.collect.control import CONTROL_PREFIX
    from artifact_gc.report.inventory_aggregates import aggregates_sql, fold, scenario_filters

    _modules()
    delivery = find_delivery(location, s3, bucket, now, max_age_seconds)
    manifest = delivery.manifest
    with _reading(delivery, s3, "report") as (con, _, paths):
        if plan is not None:
            load_planned(con, plan)
        filters = scenario_filters(builders)
        query = aggregates_sql(
            _raw_sql(manifest, paths, con),
            manifest.file_format,
            manifest.columns,
            prefixes,
            inventory.depth,
            filters,
            CONTROL_PREFIX,
            plan is not None,
        )
        rows = con.execute(query, {"now": now}).fetchall()
    malformed = fold(rows, inventory, builders, filters, excluded_in)
    if malformed:
        raise SafetyError(
            f"inventory {delivery.location}: {malformed:,} rows have no key or no last-modified date; "
            "its data files are not what an S3 Inventory writes (check the delivery)"
        )
