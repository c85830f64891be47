"""The storage report's aggregates of an S3 Inventory, computed in SQL: per group of versions, what the
listing path computes per version (``VersionWalk``'s age and rank, ``Inventory.add``, and every scenario's
``PopulationBuilder.add``). Only groups reach Python, never the versions: a billion versions are a few
thousand rows here.

Pure: SQL text, and the fold of its rows into the same ``Inventory`` and ``PopulationBuilder`` objects the
listing path fills, so both paths share one definition of groups and cohorts. The property test in
tests/report/test_inventory_aggregates.py compares them version by version.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from artifact_gc.collect.columnar import inventory_expressions, sql_literal
from artifact_gc.cost.simulate import (
    NO_RULES,
    SMALL_BYTES,
    PopulationBuilder,
    RuleFilter,
    Schedule,
    rule_filter,
    schedule_of,
)

DAY_MICROSECONDS = 86_400_000_000
MAX_SIZE = 2**63  # S3 sizes are BIGINT; a bound past them says nothing

# GROUPING(grp, age_days) of each grouping set of aggregates_sql
BY_GROUP, BY_COHORT, TOTAL = 1, 2, 3


def scenario_filters(builders: Iterable[PopulationBuilder]) -> list[RuleFilter]:
    """The distinct filters of the scenarios' enabled rules, in order of first use. A tag filter matches
    nothing here (``rule_filter``), so it needs no column."""
    found: dict[RuleFilter, None] = {}
    for builder in builders:
        for rule in builder.rules:
            if rule.get("Status") == "Enabled" and (flt := rule_filter(rule)) is not None:
                found.setdefault(flt)
    return list(found)


def filter_sql(flt: RuleFilter) -> str:
    """:meth:`RuleFilter.matches` over the columns ``key`` and ``size`` (never NULL, sizes 0 to 2**63-1)."""
    if "\x00" in flt.prefix:
        return "FALSE"  # no key holds a NUL: the rule matches nothing, as in Python
    found = [f"starts_with(key, {sql_literal(flt.prefix, 'lifecycle rule prefix')})"]
    if flt.above >= 0:
        found.append(f"size > {min(flt.above, MAX_SIZE - 1)}")
    if flt.below < MAX_SIZE:
        found.append(f"size < {max(flt.below, 0)}")
    return " AND ".join(found)


def group_sql(depth: int) -> str:
    """``objects.versions.group_of(key, depth)``: the key's first ``depth`` folders, or ``(root)``."""
    if depth == 1:
        folders = "left(key, strpos(key, '/'))"
    else:
        parts = "string_split(key, '/')"
        folders = (
            f"array_to_string(list_slice({parts}, 1, least({int(depth)}, len({parts}) - 1)), '/') || '/'"
        )
    return f"CASE WHEN strpos(key, '/') = 0 THEN '(root)' ELSE {folders} END"


def aggregates_sql(
    raw: str,
    file_format: str,
    columns: tuple[str, ...],
    prefixes: Sequence[str],
    depth: int,
    filters: Sequence[RuleFilter],
    skip_prefix: str,
    with_plan: bool,
) -> str:
    """One aggregate over the inventory rows of ``raw``, in three grouping sets (column ``part``):

    * ``BY_GROUP``: versions and bytes by (noncurrent, group, class, small), for ``Inventory``;
    * ``BY_COHORT``: by (noncurrent, class, small, age_days, rank, excluded, rules), for the scenarios:
      ``rules`` holds whether each of ``filters`` matches, ``excluded`` whether a current version is one
      of the plan's candidates (table ``planned(key)``, when ``with_plan``);
    * ``TOTAL``: the delete markers, and the rows without a key or a date (a damaged file).

    Ages count as ``VersionWalk`` counts them: a noncurrent version's from when the next newer entry of its
    key (version or delete marker) replaced it. Keys under ``skip_prefix`` (the GC's own state) are not
    versions of artifacts; their delete markers are counted, as the walk counts them. Parameter ``$now``."""
    found = inventory_expressions(file_format, columns)
    scope = " OR ".join(f"starts_with(key, {sql_literal(p, 'prefix')})" for p in prefixes) or "TRUE"
    if "is_latest" in columns:
        order = "PARTITION BY key ORDER BY modified DESC, marker DESC"
        walk = (
            f"lag(modified) OVER ({order}) AS newer, "
            f"sum(CAST(NOT marker AND NOT latest AS INTEGER)) OVER ({order} ROWS UNBOUNDED PRECEDING) AS rank"
        )
    else:  # current versions only: every one is its key's newest
        walk = "CAST(NULL AS TIMESTAMPTZ) AS newer, 0 AS rank"
    excluded = "latest AND key IN (SELECT key FROM planned)" if with_plan else "FALSE"
    rules = "list_value(" + ", ".join(filter_sql(f) for f in filters) + ")" if filters else "[]::BOOLEAN[]"
    replaced = "CASE WHEN latest OR newer IS NULL THEN modified ELSE newer END"
    return f"""
        WITH entries AS (
            SELECT {found["key"]} AS key, CAST(last_modified_date AS TIMESTAMPTZ) AS modified,
                {found["marker"]} AS marker, {found["latest"]} AS latest,
                coalesce(CAST(size AS BIGINT), 0) AS size, {found["storage_class"]} AS storage_class
            FROM ({raw})
        ), scoped AS (
            SELECT * FROM entries WHERE key IS NULL OR modified IS NULL OR ({scope})
        ), walked AS (
            SELECT *, {walk} FROM scoped
        ), versions AS (
            SELECT size, storage_class, marker,
                key IS NULL OR modified IS NULL AS malformed,
                NOT marker AND key IS NOT NULL AND modified IS NOT NULL
                    AND NOT starts_with(key, {sql_literal(skip_prefix, "control prefix")}) AS counted,
                NOT latest AS noncurrent,
                rank AS version_rank,  -- PopulationBuilder counts ranks of noncurrent versions only
                greatest(0, (epoch_us($now) - epoch_us({replaced})) // {DAY_MICROSECONDS}) AS age_days,
                size < {SMALL_BYTES} AS small,
                CASE WHEN latest THEN {group_sql(depth)} ELSE '' END AS grp,
                coalesce({excluded}, FALSE) AS excluded,
                {rules} AS rules
            FROM walked
        )
        SELECT GROUPING(grp, age_days) AS part, noncurrent, grp, storage_class, small, age_days,
            version_rank, excluded, rules,
            count(*) FILTER (WHERE counted) AS versions, coalesce(sum(size) FILTER (WHERE counted), 0) AS bytes,
            count(*) FILTER (WHERE marker) AS markers, count(*) FILTER (WHERE malformed) AS malformed
        FROM versions
        GROUP BY GROUPING SETS (
            (noncurrent, grp, storage_class, small),
            (noncurrent, storage_class, small, age_days, version_rank, excluded, rules),
            ()
        )
    """


def fold(
    rows: Iterable[tuple[Any, ...]],
    inventory: Any,
    builders: Sequence[PopulationBuilder],
    filters: Sequence[RuleFilter],
    excluded_in: Sequence[bool],
) -> int:
    """Add :func:`aggregates_sql`'s rows to ``inventory`` (an ``objects.versions.Inventory``) and to each
    scenario's builder (``excluded_in``: whether that scenario deletes the plan's candidates); return the
    number of rows without a key or a date."""
    schedules: list[dict[tuple[bool, ...], Schedule]] = [{} for _ in builders]
    malformed = 0
    for part, noncurrent, grp, cls, small, age, rank, excluded, matched, count, size, markers, bad in rows:
        if part == TOTAL:
            inventory.delete_markers += markers
            malformed += bad
        elif not count:
            continue  # a group of delete markers or of the GC's own keys: no versions
        elif part == BY_GROUP:
            inventory.add_versions(noncurrent, grp, cls, small, count, size)
        else:
            matches = tuple(matched)
            for builder, known, gc in zip(builders, schedules, excluded_in, strict=True):
                if matches not in known:
                    known[matches] = _schedule(builder, filters, matches)
                builder.add_cohort(
                    known[matches], cls, age, small, noncurrent, rank, gc and excluded, count, size
                )
    return malformed


def _schedule(
    builder: PopulationBuilder, filters: Sequence[RuleFilter], matches: tuple[bool, ...]
) -> Schedule:
    """The schedule of a version whose filter matches are ``matches`` (one per of ``filters``)."""
    if not builder.rules:
        return NO_RULES
    matched = {flt for flt, hit in zip(filters, matches, strict=True) if hit}
    return schedule_of(
        rule for rule in builder.rules if rule.get("Status") == "Enabled" and rule_filter(rule) in matched
    )
