"""One GcConfig, resolved from CLI flags > ARTIFACT_GC_* environment > the Terraform ``gc_config`` output.

Flags and environment variables are merged by the CLI (typer reads ``ARTIFACT_GC_*`` for each option);
this module merges that with Terraform's values. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from artifact_gc.errors import UsageError

DEFAULT_PATH_ATTRIBUTE = "s3_path"  # the registry attribute that holds artifact locations
DEFAULT_MIN_AGE_DAYS = 7


# An inventory delivery older than this is refused unless --max-inventory-age says otherwise.
DEFAULT_MAX_INVENTORY_AGE = "48h"


@dataclass(frozen=True)
class GcConfig:
    """What to collect and where. ``None``/empty means "not given by anyone"."""

    bucket: str | None = None
    region: str | None = None
    registry_tables: tuple[str, ...] = ()
    path_attributes: tuple[str, ...] = ()
    manifests: tuple[str, ...] = ()
    prefixes: tuple[str, ...] | None = None
    min_age_days: int | None = None
    quarantine_tag: tuple[str, str] | None = None
    # S3 access points mapped to the bucket they serve: (alias, ARN or host; bucket) pairs
    access_points: tuple[tuple[str, str], ...] = ()
    # SQL registry sources: (URL without password, or env:VAR; query) pairs
    registry_sql: tuple[tuple[str, str], ...] = ()
    sagemaker: bool | None = None  # read the SageMaker Model Registry and models too
    mlflow_tracking_uri: str | None = None  # a URI without a password, or env:VAR
    mlflow_protect_runs: str | None = None  # active (default), registered, none
    mlflow_artifacts_destination: str | None = None  # the tracking server's --artifacts-destination
    inventory: str | None = None  # an S3 Inventory manifest.json or configuration folder (plan only)
    max_inventory_age: str | None = None  # a duration (48h); refuse older inventory deliveries

    @property
    def effective_path_attributes(self) -> tuple[str, ...]:
        return self.path_attributes or (DEFAULT_PATH_ATTRIBUTE,)

    @property
    def effective_min_age_days(self) -> int:
        return DEFAULT_MIN_AGE_DAYS if self.min_age_days is None else self.min_age_days


def resolve_config(flags: Mapping[str, Any], tf: Mapping[str, Any] | None) -> GcConfig:
    """Merge: a value given by flag or environment wins over Terraform's ``gc_config``.

    ``flags`` keys are GcConfig field names; ``None`` or an empty sequence means "not given" (the whole
    bucket as scope is spelled ``--prefix ''``, a one-element list).
    """
    tf_config = _from_gc_config(tf) if tf is not None else GcConfig()
    merged: dict[str, Any] = {}
    for name in GcConfig.__dataclass_fields__:
        given = flags.get(name)
        if given is None or (isinstance(given, (list, tuple)) and not given):
            merged[name] = getattr(tf_config, name)
        else:
            merged[name] = tuple(given) if isinstance(given, (list, tuple)) else given
    config = GcConfig(**merged)
    if config.min_age_days is not None and config.min_age_days < 0:
        raise UsageError(f"--min-age-days {config.min_age_days}: must be 0 or more")
    return config


def _from_gc_config(tf: Mapping[str, Any]) -> GcConfig:
    """Read the keys we know from a ``gc_config`` value; other keys are left for other features."""

    def strings(key: str) -> tuple[str, ...]:
        value = tf.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,) if value else ()
        if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise UsageError(f"gc_config.{key}: expected a string or a list of strings, got {value!r}")

    min_age = tf.get("min_age_days")
    if min_age is not None and (
        isinstance(min_age, bool) or not isinstance(min_age, (int, float)) or min_age != int(min_age)
    ):
        raise UsageError(f"gc_config.min_age_days: expected a whole number of days, got {min_age!r}")
    prefixes = tf.get("gc_prefixes")
    bucket = tf.get("bucket")
    if bucket is not None and not isinstance(bucket, str):
        raise UsageError(f"gc_config.bucket: expected a string, got {bucket!r}")
    return GcConfig(
        bucket=bucket or None,
        region=tf.get("region") or None,
        registry_tables=strings("registry_table") + strings("registry_tables"),
        path_attributes=strings("path_attribute") + strings("path_attributes"),
        manifests=strings("manifests"),
        prefixes=strings("gc_prefixes") if prefixes is not None else None,
        min_age_days=None if min_age is None else int(min_age),
        quarantine_tag=_tag(tf.get("quarantine_tag")),
        access_points=_access_points_from_tf(tf.get("access_points")),
        registry_sql=_registry_sql_from_tf(tf.get("registry_sql")),
        sagemaker=_flag(tf, "sagemaker"),
        mlflow_tracking_uri=_string(tf, "mlflow_tracking_uri"),
        mlflow_protect_runs=_string(tf, "mlflow_protect_runs"),
        mlflow_artifacts_destination=_string(tf, "mlflow_artifacts_destination"),
        inventory=_string(tf, "inventory"),
        max_inventory_age=_duration_text(tf, "max_inventory_age"),
    )


def _duration_text(tf: Mapping[str, Any], key: str) -> str | None:
    """A duration in gc_config: a string (48h, 2d) or a number of hours."""
    value = tf.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise UsageError(f"gc_config.{key}: expected a duration such as 48h, got {value!r}")
    return value if isinstance(value, str) else f"{value}h"


def _string(tf: Mapping[str, Any], key: str) -> str | None:
    value = tf.get(key)
    if value is not None and not isinstance(value, str):
        raise UsageError(f"gc_config.{key}: expected a string, got {value!r}")
    return value or None


def _flag(tf: Mapping[str, Any], key: str) -> bool | None:
    value = tf.get(key)
    if value is not None and not isinstance(value, bool):
        raise UsageError(f"gc_config.{key}: expected true or false, got {value!r}")
    return value


def _registry_sql_from_tf(value: Any) -> tuple[tuple[str, str], ...]:
    """``gc_config.registry_sql``: a list of ``{url, query}`` (url may be ``env:VAR``)."""
    if value is None:
        return ()
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or not all(
            isinstance(v, Mapping) and isinstance(v.get("url"), str) and isinstance(v.get("query"), str)
            for v in value
        )
    ):
        raise UsageError(f"gc_config.registry_sql: expected a list of {{url, query}} strings, got {value!r}")
    return tuple((v["url"], v["query"]) for v in value)


def pair_registry_sql(urls: Sequence[str] | None, queries: Sequence[str] | None) -> list[tuple[str, str]]:
    """``--registry-sql URL --registry-query SQL``, repeatable as pairs, in order."""
    urls, queries = list(urls or []), list(queries or [])
    if len(urls) != len(queries):
        raise UsageError(
            f"--registry-sql given {len(urls)} times and --registry-query {len(queries)} times: give them as pairs"
        )
    return list(zip(urls, queries, strict=True))


def _access_points_from_tf(value: Any) -> tuple[tuple[str, str], ...]:
    """``gc_config.access_points``: a map of access point alias, ARN or host to the bucket it serves."""
    if value is None:
        return ()
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, str) and v for k, v in value.items()
    ):
        raise UsageError(
            f"gc_config.access_points: expected a map of access point to bucket name, got {value!r}"
        )
    return tuple(sorted(value.items()))


def parse_access_point(text: str) -> tuple[str, str]:
    """``--access-point NAME=BUCKET``: NAME is an access point alias, ARN or host name."""
    name, sep, bucket = text.rpartition("=")
    if not sep or not name.strip() or not bucket.strip() or "/" in bucket:
        raise UsageError(
            f"--access-point {text!r}: expected NAME=BUCKET, e.g. my-ap-abc123-s3alias=ml-artifacts"
        )
    return name.strip(), bucket.strip()


def _tag(value: Any) -> tuple[str, str] | None:
    """``gc_config.quarantine_tag``: ``{key, value}`` (null when the bucket has no quarantine rule)."""
    if value is None:
        return None
    if (
        not isinstance(value, Mapping)
        or not isinstance(value.get("key"), str)
        or not isinstance(value.get("value"), str)
    ):
        raise UsageError(f"gc_config.quarantine_tag: expected {{key, value}} strings, got {value!r}")
    return (value["key"], value["value"])


def normalise_prefixes(prefixes: Sequence[str]) -> tuple[str, ...]:
    """Sorted scope prefixes with those covered by another removed, so no object is listed twice.

    ``""`` is the whole bucket and covers everything.
    """
    kept: list[str] = []
    for prefix in sorted(set(prefixes)):
        if kept and prefix.startswith(kept[-1]):
            continue
        kept.append(prefix)
    return tuple(kept)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, flag: str) -> float:
    """``90s``, ``30m``, ``24h``, ``2d`` or plain seconds -> seconds."""
    match = _DURATION.match(text)
    if not match:
        raise UsageError(f"{flag} {text!r}: expected a duration such as 30m, 24h or 2d")
    return float(match[1]) * _UNIT_SECONDS[match[2]]


def parse_spark_conf(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``--spark-conf KEY=VALUE`` pairs as a dict; a pair without ``=`` or with an empty key is exit 2."""
    conf: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or key != key.strip():
            raise UsageError(
                f"--spark-conf {pair!r}: expected KEY=VALUE with a Spark property name as KEY "
                "(e.g. --spark-conf spark.executor.memory=4g)"
            )
        conf[key] = value
    return conf
