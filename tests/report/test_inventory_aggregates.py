"""The report's SQL aggregates of an inventory equal what the listing path computes version by version:
VersionWalk's ages and ranks, Inventory.add, and every scenario's PopulationBuilder.add (a property over
random versions, delete markers, rules, depths, scopes and plans)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artifact_gc.collect.control import CONTROL_PREFIX
from artifact_gc.cost.simulate import PopulationBuilder, RuleFilter, rule_filter
from artifact_gc.objects.versions import Entry, Inventory, VersionWalk
from artifact_gc.report.inventory_aggregates import (
    aggregates_sql,
    filter_sql,
    fold,
    group_sql,
    scenario_filters,
)

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
# shared starts, folders, empty segments, a newline, non-ASCII and the GC's own prefix
ALPHABET = st.sampled_from(["a", "b", "/", "//", "\n", "é", "𝄞", "x", CONTROL_PREFIX])
KEY = st.lists(ALPHABET, min_size=1, max_size=5).map("".join)
CLASS = st.sampled_from(["STANDARD", "STANDARD_IA", "GLACIER_IR"])
SIZE = st.sampled_from([0, 1, 131071, 131072, 131073, 5000, 10**9])
# microseconds around now, across day boundaries, and a few in the future
MOMENT = st.integers(-400 * 86_400_000_000, 2 * 86_400_000_000).map(
    lambda us: NOW - timedelta(microseconds=us)
)
PREFIX = st.sampled_from(["", "a", "a/", "b/", "ab", CONTROL_PREFIX, "é"])


@st.composite
def a_rule(draw: Any) -> dict[str, Any]:
    shape = draw(st.sampled_from(["legacy", "prefix", "size", "and", "tag", "empty"]))
    size = {
        "ObjectSizeGreaterThan": draw(st.sampled_from([0, 1, 131072, 5000])),
        "ObjectSizeLessThan": draw(st.sampled_from([131072, 10**9, 2**64])),
    }
    size = {k: v for k, v in size.items() if draw(st.booleans())}
    prefix = draw(PREFIX)
    rule: dict[str, Any] = {"Status": draw(st.sampled_from(["Enabled", "Enabled", "Disabled"]))}
    if shape == "legacy":
        rule["Prefix"] = prefix
    elif shape == "prefix":
        rule["Filter"] = {"Prefix": prefix}
    elif shape == "size":
        rule["Filter"] = size or {"ObjectSizeGreaterThan": 1}
    elif shape == "and":
        rule["Filter"] = {"And": {"Prefix": prefix, **size}}
    elif shape == "tag":
        rule["Filter"] = {"Tag": {"Key": "k", "Value": "v"}}
    else:
        rule["Filter"] = {}
    if draw(st.booleans()):
        rule["Transitions"] = [{"Days": draw(st.sampled_from([0, 30, 90])), "StorageClass": "STANDARD_IA"}]
    if draw(st.booleans()):
        rule["Expiration"] = {"Days": draw(st.sampled_from([1, 60, 365]))}
    if draw(st.booleans()):
        newer = draw(st.sampled_from([None, 1, 2]))
        rule["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": draw(st.sampled_from([1, 10])),
            **({} if newer is None else {"NewerNoncurrentVersions": newer}),
        }
    return rule


@st.composite
def a_bucket(draw: Any, all_versions: bool) -> list[Entry]:
    """Entries as an inventory lists them: per key its versions and delete markers at distinct moments
    (two versions at one moment would leave their order to the sort) but for a delete marker beside a
    version, the newest marked latest unless drawn otherwise."""
    entries = []
    for key in draw(st.lists(KEY, min_size=0, max_size=8, unique=True)):
        if not all_versions:
            entries.append(Entry(key, draw(MOMENT), False, True, draw(SIZE), draw(CLASS)))
            continue
        moments = sorted(draw(st.lists(MOMENT, min_size=1, max_size=4, unique=True)), reverse=True)
        odd_latest = draw(st.booleans()) and draw(st.booleans())  # sometimes no newest flag, or two
        for index, moment in enumerate(moments):
            marker = draw(st.booleans()) and draw(st.booleans())
            latest = draw(st.booleans()) if odd_latest else index == 0
            entries.append(Entry(key, moment, marker, latest, 0 if marker else draw(SIZE), draw(CLASS)))
            if not marker and index and draw(st.booleans()):
                # a delete marker at the same moment: S3 lists the marker first, and so must the walk
                entries.append(Entry(key, moment, True, False, 0, "STANDARD"))
    return entries


def by_listing(
    entries: list[Entry], depth: int, prefixes: tuple[str, ...], rules: list[list[dict]], plan: set[str]
) -> tuple[Inventory, list[PopulationBuilder]]:
    """What `report` computes from a listing: the walk over (key, newest first) entries, record by record."""
    inventory = Inventory(depth=depth)
    builders = [PopulationBuilder(r, deleted_become_noncurrent=True) for r in rules]
    scoped = [e for e in entries if any(e.key.startswith(p) for p in prefixes)]
    scoped.sort(key=lambda e: (e.key, -e.modified.timestamp(), not e.marker))
    inventory.delete_markers += sum(e.marker for e in scoped)
    for record in VersionWalk(NOW).records(scoped):
        inventory.add(record)
        deleted = not record.noncurrent and record.key in plan
        for builder, gc in zip(builders, (False, True), strict=False):
            builder.add(record.as_tuple(), excluded=gc and deleted)
    return inventory, builders


def by_sql(
    entries: list[Entry],
    depth: int,
    prefixes: tuple[str, ...],
    rules: list[list[dict]],
    plan: set[str],
    all_versions: bool,
) -> tuple[Inventory, list[PopulationBuilder], int]:
    inventory = Inventory(depth=depth)
    builders = [PopulationBuilder(r, deleted_become_noncurrent=True) for r in rules]
    columns = {
        "key": pa.array([e.key for e in entries], pa.string()),
        "size": pa.array([None if e.marker else e.size for e in entries], pa.int64()),
        "last_modified_date": pa.array([e.modified for e in entries], pa.timestamp("us", tz="UTC")),
        "storage_class": pa.array([None if e.marker else e.storage_class for e in entries], pa.string()),
    }
    if all_versions:
        columns["is_latest"] = pa.array([e.latest for e in entries], pa.bool_())
        columns["is_delete_marker"] = pa.array([e.marker for e in entries], pa.bool_())
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("raw_rows", pa.table(columns))
    con.register("planned", pa.table({"key": pa.array(sorted(plan), pa.string())}))
    filters = scenario_filters(builders)
    query = aggregates_sql(
        "SELECT * FROM raw_rows", "Parquet", tuple(columns), prefixes, depth, filters, CONTROL_PREFIX, True
    )
    malformed = fold(con.execute(query, {"now": NOW}).fetchall(), inventory, builders, filters, (False, True))
    return inventory, builders, malformed


@settings(max_examples=300, deadline=None)
@given(
    all_versions=st.booleans(),
    data=st.data(),
    depth=st.integers(1, 3),
    prefixes=st.just(("",)) | st.lists(PREFIX, min_size=1, max_size=2, unique=True).map(tuple),
    rules=st.lists(a_rule(), max_size=4),
)
def test_sql_aggregates_equal_the_version_by_version_report(
    all_versions: bool, data: Any, depth: int, prefixes: tuple[str, ...], rules: list[dict]
) -> None:
    entries = data.draw(a_bucket(all_versions))
    current = sorted({e.key for e in entries if e.latest and not e.marker})
    plan = set(data.draw(st.lists(st.sampled_from(current), unique=True))) if current else set()
    scenarios = [rules, rules]  # the second deletes the plan's candidates
    listed, listed_builders = by_listing(entries, depth, prefixes, scenarios, plan)
    summed, summed_builders, malformed = by_sql(entries, depth, prefixes, scenarios, plan, all_versions)
    assert malformed == 0
    assert dict(summed.current) == dict(listed.current)
    assert dict(summed.noncurrent) == dict(listed.noncurrent)
    assert dict(summed.small_by_group) == dict(listed.small_by_group)
    assert summed.delete_markers == listed.delete_markers
    for mine, theirs in zip(summed_builders, listed_builders, strict=True):
        assert dict(mine.population.cohorts) == dict(theirs.population.cohorts)


def test_the_property_sees_noncurrent_versions_exclusions_and_rules() -> None:
    """A fixed case of the property with each feature present, so a vacuous generator cannot pass it."""
    old, older = NOW - timedelta(days=40), NOW - timedelta(days=100)
    entries = [
        Entry("a/m", NOW - timedelta(days=5), True, True, 0, "STANDARD"),  # marker: a/m noncurrent from day 5
        Entry("a/m", old, False, False, 10, "STANDARD"),
        Entry("a/m", older, False, False, 200_000, "STANDARD_IA"),
        Entry("b/n", old, False, True, 7, "STANDARD"),
        Entry("b/t", NOW - timedelta(days=2), False, True, 8, "STANDARD"),
        Entry("b/t", older, False, False, 9, "STANDARD"),
        Entry("b/t", older, True, False, 0, "STANDARD"),  # listed first: b/t's old version was replaced then
        Entry(CONTROL_PREFIX + "lease", old, False, True, 3, "STANDARD"),
    ]
    rules = [{"Status": "Enabled", "Filter": {"Prefix": "a/"}, "Expiration": {"Days": 365}}]
    summed, builders, _ = by_sql(entries, 1, ("",), [rules, rules], {"b/n"}, True)
    assert summed.delete_markers == 2
    assert dict(summed.current) == {("b/", "STANDARD"): [2, 15, 2, 15]}  # the lease is not artifact data
    assert dict(summed.noncurrent) == {"STANDARD": [2, 19, 2, 19], "STANDARD_IA": [1, 200_000, 0, 0]}
    cohorts = {
        (k.noncurrent, k.age_days, k.rank, k.schedule.expiration_days): v
        for k, v in builders[0].population.cohorts.items()
    }
    # ages of noncurrent versions count from the newer entry that replaced them (the marker, then a/m's 40-day version)
    assert cohorts == {
        (True, 5, 1, 365): [1, 10],
        (True, 40, 2, 365): [1, 200_000],
        (False, 40, 0, None): [1, 7],
        (False, 2, 0, None): [1, 8],
        (True, 100, 1, None): [1, 9],  # not 2 days: the marker at its own moment replaced it
    }
    # the plan's b/n is deleted in the second scenario: on a versioned bucket it stays as a noncurrent version
    deleted = {
        (k.noncurrent, k.age_days, k.rank): v
        for k, v in builders[1].population.cohorts.items()
        if k.storage_class == "STANDARD" and not k.schedule.expiration_days
    }
    assert deleted == {(True, 0, 1): [1, 7], (False, 2, 0): [1, 8], (True, 100, 1): [1, 9]}


@settings(max_examples=200, deadline=None)
@given(
    key=st.lists(st.sampled_from(["a", "/", "\n", "é", "//"]), min_size=1, max_size=8).map("".join),
    depth=st.integers(1, 5),
)
def test_group_sql_is_group_of(key: str, depth: int) -> None:
    from artifact_gc.objects.versions import group_of

    found = (
        duckdb.connect()
        .execute(f"SELECT {group_sql(depth)} FROM (SELECT $key AS key)", {"key": key})
        .fetchone()
    )
    assert found == (group_of(key, depth),)


@settings(max_examples=300, deadline=None)
@given(rule=a_rule(), key=KEY, size=st.integers(0, 2**63 - 1) | SIZE)
def test_filter_sql_is_rule_filter_matches(rule: dict, key: str, size: int) -> None:
    flt = rule_filter(rule)
    if flt is None:
        return
    found = (
        duckdb.connect()
        .execute(
            f"SELECT {filter_sql(flt)} FROM (SELECT $key AS key, CAST($size AS BIGINT) AS size)",
            {"key": key, "size": size},
        )
        .fetchone()
    )
    assert found == (flt.matches(key, size),)


@pytest.mark.parametrize(
    ("flt", "size", "matches"),
    [
        (RuleFilter("", above=2**63 - 1), 2**63 - 1, False),
        (RuleFilter("", below=-5), 0, False),
        (RuleFilter("", above=-7), 0, True),
        (RuleFilter("", below=2**70), 2**63 - 1, True),
        (RuleFilter("a\x00"), 0, False),
    ],
)
def test_filter_sql_bounds_past_bigint(flt: RuleFilter, size: int, matches: bool) -> None:
    found = (
        duckdb.connect()
        .execute(
            f"SELECT {filter_sql(flt)} FROM (SELECT 'a' AS key, CAST($size AS BIGINT) AS size)",
            {"size": size},
        )
        .fetchone()
    )
    assert found == (matches,) == (flt.matches("a", size),)
