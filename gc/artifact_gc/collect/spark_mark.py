"""Run the inventory mark on Apache Spark (``plan --engine spark``), for buckets one machine cannot read.

The driver does everything that decides *whether* to plan: the delivery's completeness, checksums, source
bucket and age (objects/inventory.py), the references and their fail-closed rules (the planner). Spark
reads the data files, and each executor decides its rows with the embedded engine's own SQL in a
one-thread DuckDB (:func:`artifact_gc.collect.inventory_mark.decide_batches` through ``mapInArrow``), the
references shipped once as a broadcast. The counts come from Spark's aggregates; the candidates are written
by Spark, sorted by key, as a Parquet plan folder whose every part carries the header (parquet_plan.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from artifact_gc.collect.columnar import (
    CANDIDATE_COLUMNS,
    ReferenceTables,
    add_counts,
    current_objects_sql,
    decision_sql,
    note_largest,
)
from artifact_gc.collect.inventory_mark import InventoryMark
from artifact_gc.collect.mark import MarkStats
from artifact_gc.collect.planfile import sealed_header
from artifact_gc.errors import SafetyError, UsageError
from artifact_gc.objects.inventory import Delivery, verified_local_files

INSTALL_HINT = (
    "pip install 'artifact-gc[spark]' (on EMR, Glue or Databricks, where Spark is installed, "
    "pip install 'artifact-gc[inventory]')"
)
# The raw columns the mark reads, whichever of them the inventory holds.
MARK_COLUMNS = (
    "key",
    "size",
    "last_modified_date",
    "e_tag",
    "storage_class",
    "is_latest",
    "is_delete_marker",
    "version_id",
)
LOCAL_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",  # artifact-gc draws its own progress
    "spark.sql.shuffle.partitions": "8",
}


def _pyspark() -> Any:
    try:
        import pyspark
        from pyspark.sql import SparkSession  # noqa: F401 - the part we use

        import artifact_gc.collect.inventory_mark as inventory_mark

        inventory_mark._modules()
    except ImportError as exc:
        raise UsageError(f"--engine spark needs PySpark ({exc.name} is missing): {INSTALL_HINT}") from exc
    except UsageError as exc:
        raise UsageError(f"--engine spark needs pyarrow and DuckDB on every node: {INSTALL_HINT}") from exc
    return pyspark


def spark_session(master: str | None, conf: dict[str, str]) -> Any:
    """A Spark session: ``master`` (``local[*]`` by default; ``sc://``: Spark Connect; empty: as
    spark-submit, ``SPARK_REMOTE`` or the platform set it) and ``conf`` on top. In local mode the workers
    run this interpreter, which has artifact-gc."""
    _pyspark()
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("artifact-gc plan")
    settings: dict[str, str] = {}
    if master and master.startswith("sc://"):
        builder = builder.remote(master)  # Spark Connect (Databricks serverless, standard access mode)
    elif master:
        builder = builder.master(master)
    if (master or "").startswith("local"):
        from importlib import resources

        quiet = resources.files("artifact_gc") / "data" / "log4j2-spark-local.properties"
        settings |= LOCAL_DEFAULTS | {
            "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={quiet}",
        }
        # PySpark starts its workers with $PYSPARK_PYTHON (else python3 on PATH, which may lack artifact-gc)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings |= {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.execution.arrow.maxRecordsPerBatch": "100000",
    }
    for key, value in (settings | conf).items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # PySparkRuntimeError JAVA_GATEWAY_EXITED and the like
        raise UsageError(
            f"Spark did not start ({_first_line(exc)}): "
            "--engine spark needs Java 17 or later (JAVA_HOME or java on PATH) and a reachable --spark-master"
        ) from exc
    context = spark_context(spark)
    if context is not None:
        context.setLogLevel("ERROR")
    for key in ("spark.sql.session.timeZone", "spark.sql.parquet.outputTimestampType"):
        spark.conf.set(key, settings[key])  # an existing session keeps its own otherwise
    return spark


def spark_context(spark: Any) -> Any:
    """The session's SparkContext, or None under Spark Connect, which has none."""
    try:
        return spark.sparkContext
    except Exception:  # PySparkAttributeError JVM_ATTRIBUTE_NOT_SUPPORTED
        return None


def spark_path(location: str) -> str:
    """A file as Spark's readers take it: Hadoop reads a path as a glob, so ``* ? [ ] { } \\`` are escaped
    (a data file named ``a[1].csv.gz`` is that file, not a pattern)."""
    return re.sub(r"([\\*?\[\]{}])", r"\\\1", location)


def _identity(path: str) -> str:
    """A file as Spark names it back (``file:/x`` for the local ``/x``; remote URIs as given)."""
    return re.sub(r"^file:/+", "/", path)


def verify_on_spark(spark: Any, expected: dict[str, str]) -> None:
    """Each data file's MD5 against the manifest's, computed by the executors where they read the files
    (a remote delivery is not downloaded to the driver). Any file missing or different is exit 3."""
    from pyspark.sql import functions as F

    wanted = {_identity(location): md5 for location, md5 in expected.items()}
    try:
        rows = (
            spark.read.format("binaryFile")
            .load([spark_path(location) for location in expected])
            .select("path", F.md5("content").alias("md5"))
            .collect()
        )
    except Exception as exc:
        scheme = re.search(r'No FileSystem for scheme "?([A-Za-z0-9+.-]+)', str(exc))
        if scheme:
            raise UsageError(
                f"this Spark cannot read {scheme.group(1)}:// (no S3 connector: PySpark's local mode has "
                "none): copy the delivery down (aws s3 sync s3://DEST ./DEST) and give --inventory the "
                "copy, or run the job on a cluster whose S3 connector reads it (EMR, Glue, Databricks)"
            ) from exc
        raise SafetyError(
            f"inventory data files: Spark cannot read them all ({_first_line(exc)}): refusing to plan"
        ) from exc
    seen = {_identity(row["path"]): row["md5"] for row in rows}
    for location, md5 in wanted.items():
        if location not in seen:
            raise SafetyError(f"inventory data file {location} is missing: refusing to plan")
        if seen[location] != md5:
            raise SafetyError(
                f"inventory data file {location} does not match the manifest's MD5: refusing to read it"
            )


def _first_line(exc: BaseException) -> str:
    """The reason in one line: a worker's own refusal when it raised one, else Spark's first line."""
    text = str(exc).strip()
    found = re.search(r"MalformedInventory: (.+)", text)
    if found:
        return found.group(1).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def data_file_uris(spark: Any, delivery: Delivery) -> list[str]:
    """The delivery's data files as URIs Spark reads, each checked against the manifest's MD5 first: a
    local copy on the driver (as the embedded engine does), an s3:// delivery on the executors."""
    manifest = delivery.manifest
    if delivery.local_root is not None:
        return [spark_path(str(path.resolve())) for path in verified_local_files(delivery)]
    expected = {f"s3://{manifest.destination_bucket}/{entry.key}": entry.md5 for entry in manifest.files}
    verify_on_spark(spark, expected)
    return [spark_path(location) for location in expected]


def raw_frame(spark: Any, delivery: Delivery, uris: list[str]) -> Any:
    """The data files as a DataFrame of the manifest's columns (CSV: every column text, as written;
    a malformed line fails the job)."""
    from pyspark.sql.types import StringType, StructField, StructType

    manifest = delivery.manifest
    columns = manifest.columns
    reader = spark.read
    if manifest.file_format == "CSV":
        schema = StructType([StructField(name, StringType()) for name in columns])
        frame = reader.schema(schema).csv(
            uris, header=False, sep=",", quote='"', escape='"', mode="FAILFAST", multiLine=False
        )
    elif manifest.file_format == "ORC":
        frame = reader.orc(uris)
    else:
        frame = reader.parquet(*uris)
    return frame.select(*[name for name in MARK_COLUMNS if name in columns])


def _counts(decided: Any, stats: MarkStats) -> None:
    """MarkStats from Spark's aggregates: per decision, prefix and class; the largest candidates."""
    from pyspark.sql import functions as F

    def count_where(condition: Any) -> Any:
        return F.sum(F.when(condition, 1).otherwise(0))

    grouped = (
        decided.groupBy("decision", "prefix", "storage_class")
        .agg(
            F.count(F.lit(1)).alias("objects"),
            F.coalesce(F.sum("size"), F.lit(0)).alias("bytes"),
            count_where(F.col("non_folder")).alias("non_folder"),
        )
        .collect()
    )
    add_counts([(*row, None) for row in grouped], stats)
    largest = (
        decided.where("decision = 0")
        .orderBy(F.desc("size"), F.asc("key"))
        .limit(stats.largest_limit)
        .select("size", "key")
        .collect()
    )
    note_largest(stats, [(row["size"], row["key"]) for row in largest])


def _local_target(out: str) -> Path | None:
    """``--out`` as a local folder, or None for a URI Spark resolves (s3://, dbfs:/, hdfs://...)."""
    scheme = urlsplit(out).scheme
    if scheme == "file":
        return Path(unquote(urlsplit(out).path))
    return None if len(scheme) > 1 else Path(out)  # a one-letter scheme is a Windows drive


# What Spark writes into a plan folder: parts, _SUCCESS, committer markers and Hadoop's .crc files.
_SPARK_OUTPUT = re.compile(r"part-.*|_SUCCESS|_committed_.*|_started_.*|\..*\.crc")


def _replaceable(target: Path) -> bool:
    """An existing ``--out`` Spark may replace: a file, an empty folder, or a plan folder holding nothing
    but what Spark writes (plain files by those names) and parts that carry one plan header."""
    if not target.exists() or not target.is_dir():
        return True
    entries = list(target.iterdir())
    if not entries:
        return True
    if not all(entry.is_file() and _SPARK_OUTPUT.fullmatch(entry.name) for entry in entries):
        return False
    from artifact_gc.collect.parquet_plan import read_parquet_header

    try:
        read_parquet_header(target)
    except UsageError:
        return False
    return True


def write_spark_plan(candidates: Any, out: str, header: dict[str, Any]) -> None:
    """Write the candidates sorted by key as a plan folder, the header in every part. A local ``--out``
    is written beside it and moved into place when Spark has finished; it replaces only an earlier plan
    (a folder of plan parts) or a file, never a folder of anything else. A remote one must not exist."""
    from artifact_gc.collect.parquet_plan import HEADER_FIELD

    header = sealed_header(header)
    frame = candidates.withMetadata("key", {HEADER_FIELD: json.dumps(header, ensure_ascii=False)})
    target = _local_target(out)
    if target is None:
        _save(frame, out, "error")
        return
    if not _replaceable(target):
        raise UsageError(
            f"--out {out}: a folder that is not an artifact-gc plan; give a new path for the plan folder"
        )
    staging = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _save(frame, str(staging.resolve()), "error")
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        staging.rename(target)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write there ({exc.strerror or exc})") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _save(frame: Any, uri: str, mode: str) -> None:
    """Spark writes the plan folder (mode "error": never over something already there)."""
    try:
        frame.write.mode(mode).parquet(uri)
    except Exception as exc:
        if "already exists" in str(exc).lower() or "PATH_ALREADY_EXISTS" in str(exc):
            raise UsageError(f"--out {uri} already exists: give a new path for the plan folder") from exc
        raise UsageError(f"--out {uri}: Spark cannot write the plan there ({_first_line(exc)})") from exc


def plan_on_spark(
    job: InventoryMark,
    stats: MarkStats,
    out: str,
    header_for: Callable[[dict[str, Any]], dict[str, Any]],
    master: str | None,
    conf: dict[str, str],
) -> dict[str, Any]:
    """:func:`artifact_gc.collect.inventory_mark.plan_from_inventory` on Spark; return the header written."""
    _pyspark()
    from pyspark import StorageLevel

    from artifact_gc.collect.inventory_mark import (
        CURRENT_BATCH,
        DECIDED_SPARK_SCHEMA,
        decide_batches,
        delivery_snapshot,
    )

    delivery = job.delivery()
    manifest = delivery.manifest
    spark = spark_session(master, conf)
    uris = data_file_uris(spark, delivery)
    source = current_objects_sql(
        "SELECT * FROM inventory_batch", manifest.file_format, manifest.columns, job.versioned
    )
    tables = ReferenceTables.of(job.refs)
    decided_sql = decision_sql(CURRENT_BATCH, tables, job.prefixes, job.keep_globs)
    payload = (source, decided_sql, tables, job.cutoff)
    context = spark_context(spark)
    shared = context.broadcast(payload) if context is not None else None
    if shared is not None:

        def decide(batches: Any) -> Any:  # the references reach each executor once, as a broadcast
            return decide_batches(batches, *shared.value)

    else:

        def decide(batches: Any) -> Any:  # Spark Connect: they travel inside the function
            return decide_batches(batches, *payload)

    decided = raw_frame(spark, delivery, uris).mapInArrow(decide, DECIDED_SPARK_SCHEMA)
    # Decided once, read twice (counts, then the plan), kept on the executors' disks: with a memory level
    # Spark reads a spilled block back into the heap whole, and a default 1 GB driver in local mode ran
    # out of heap at 20M objects (make bench-scale ENGINE=spark), where DISK_ONLY took 62 s.
    decided = decided.persist(StorageLevel.DISK_ONLY)
    try:
        try:
            _counts(decided, stats)
        except Exception as exc:
            raise SafetyError(
                f"inventory {delivery.location}: Spark cannot read its data files as "
                f"{manifest.file_format} with the manifest's schema: {_first_line(exc)}"
            ) from exc
        header = header_for(delivery_snapshot(delivery) | {"engine": "spark"})
        write_spark_plan(decided.where("decision = 0").select(*CANDIDATE_COLUMNS).orderBy("key"), out, header)
    finally:
        decided.unpersist()
        if shared is not None:
            shared.unpersist()
    return header
