"""The columnar mark decides exactly as the row mark: properties against ReferenceSet, fnmatch and mark()."""

from __future__ import annotations

import fnmatch
import itertools
from collections import Counter
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from artifact_gc.collect.columnar import (
    OBJECT_SCHEMA,
    ReferenceTables,
    add_counts,
    bucket_columns,
    counts_sql,
    decision_sql,
    glob_to_re2,
    kept_sql,
    lookup_levels,
    matched_sql,
    mid_name_extensions,
)
from artifact_gc.collect.mark import KeepRules, MarkStats, mark
from artifact_gc.collect.object_info import ObjectInfo
from artifact_gc.refs.reachability import Match, ReferenceSet
from artifact_gc.refs.uris import Location

BUCKET = "b"
# A small alphabet makes shared starts, mid-name matches (v1 / v10) and folder boundaries likely.
ALPHABET = st.sampled_from(["a", "b", "v", "1", "0", "/", " ", "+", "%", "é", "e\u0301", "☃", "𝄞"])
KEY = st.lists(ALPHABET, min_size=0, max_size=8).map("".join)


def reference_set(keys: list[str]) -> ReferenceSet:
    return ReferenceSet.from_locations({Location(BUCKET, k) for k in keys}, BUCKET)


def duckdb_con():
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def load_refs(con, reference: ReferenceSet | ReferenceTables) -> None:
    from artifact_gc.collect.inventory_mark import load_refs as load

    load(con, reference)


# How many references of a level may share a lookup: 1 splits levels at every length, 2 and 3 mix
# levels that hold several lengths with buckets that hold several references (the default is 8).
BOUND = st.integers(1, 3)


@settings(max_examples=300, deadline=None)
@given(refs=st.lists(KEY, max_size=8), keys=st.lists(KEY, max_size=40), bound=BOUND)
def test_the_sql_protects_exactly_what_the_reference_set_protects(
    refs: list[str], keys: list[str], bound: int
) -> None:
    reference = reference_set(refs)
    tables = ReferenceTables.of(reference, bound)
    con = duckdb_con()
    load_refs(con, tables)
    con.register(
        "objects", pa.table({"n": pa.array(range(len(keys)), pa.int64()), "key": pa.array(keys, pa.string())})
    )
    rows = con.sql(
        f"SELECT ref_len FROM ({matched_sql('SELECT * FROM objects', tables)}) ORDER BY n"
    ).fetchall()
    assert [r[0] is not None for r in rows] == [reference.protects(k) for k in keys]
    for (ref_len,), key in zip(rows, keys, strict=True):
        if ref_len is not None:
            assert key[:ref_len] in reference.prefixes  # the protecting reference itself ("" when whole)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(KEY, unique=True, max_size=30), bound=st.integers(1, 4))
def test_lookup_levels_hold_every_text_once_with_bounded_buckets(texts: list[str], bound: int) -> None:
    levels = lookup_levels(texts, bound)
    assert sorted(t for _, members in levels for t in members) == sorted(texts)
    cuts = [cut for cut, _ in levels]
    assert cuts == sorted(set(cuts))  # shortest first, one level per starting length
    assert len(levels) <= len({len(t) for t in texts})
    for number, (cut, members) in enumerate(levels):
        assert all(len(t) >= cut for t in members) and cut in {len(t) for t in members}
        assert max(Counter(t[:cut] for t in members).values()) <= bound
        later = levels[number + 1][0] if number + 1 < len(levels) else None
        assert all(later is None or len(t) < later for t in members)  # consecutive lengths
    columns = bucket_columns(levels, bound)
    slots = [columns[f"m{slot}"] for slot in range(bound)]
    held = [text for column in slots for text in column if text is not None]
    assert sorted(held) == sorted(texts)  # every text in one bucket row, no row over its bound
    for row, (level, start) in enumerate(zip(columns["lvl"], columns["p"], strict=True)):
        assert all(column[row] is None or column[row][: levels[level][0]] == start for column in slots)


def test_a_registry_of_many_lengths_is_looked_up_in_few_levels() -> None:
    """Runs, steps and files of different projects: twenty lengths, but references that differ before
    their varying part share a level, so a key costs a few lookups, not one per length."""
    refs = [f"ckpt/project-{p}/run-{r}/" for p in range(5) for r in (7, 81, 925)]
    refs += [
        f"ckpt/project-{p}/run-{r}/step-{s}/w.pt" for p in range(5, 9) for r in (3, 31) for s in (0, 1000)
    ]
    reference = reference_set(refs)
    tables = ReferenceTables.of(reference)
    assert len({len(r) for r in tables.refs}) >= 6
    assert len(tables.ref_levels) == 1
    keys = [
        f"ckpt/project-{p}/run-{r}/step-{s}/w.pt"
        for p in range(10)
        for r in (3, 7, 31, 81)
        for s in (0, 1000)
    ]
    con = duckdb_con()
    load_refs(con, tables)
    con.register("objects", pa.table({"key": pa.array(keys, pa.string())}))
    rows = con.sql(f"SELECT key, ref_len FROM ({matched_sql('SELECT * FROM objects', tables)})").fetchall()
    assert {k for k, ref_len in rows if ref_len is not None} == {k for k in keys if reference.protects(k)}
    assert 0 < sum(reference.protects(k) for k in keys) < len(keys)


GLOB = st.lists(
    st.sampled_from(["a", "b", "/", "*", "?", "[", "]", "!", "-", "\\", ".", "^", "$", "é"]), max_size=7
).map("".join)
TEXT = st.lists(
    st.sampled_from(["a", "b", "/", "[", "]", "!", "-", "\\", ".", "^", "$", "é", "\n"]), max_size=6
).map("".join)


@settings(max_examples=500, deadline=None)
@given(glob=GLOB, keys=st.lists(TEXT, min_size=1, max_size=20))
def test_glob_to_re2_matches_what_fnmatch_matches(glob: str, keys: list[str]) -> None:
    matched = pc.match_substring_regex(pa.array(keys, pa.string()), glob_to_re2(glob)).to_pylist()
    assert matched == [fnmatch.fnmatchcase(k, glob) for k in keys], glob_to_re2(glob)


def test_documented_glob_spellings() -> None:
    keys = ["models/a/w.bin", "models/a/keep.txt", "x[1]", "x1", "a-b", "ab"]
    cases = {
        "models/*": [True, True, False, False, False, False],
        "*.txt": [False, True, False, False, False, False],
        "x[1]": [False, False, False, True, False, False],
        "x[[]1]": [False, False, True, False, False, False],
        "a[!-]b": [False, False, False, False, False, False],
        "a[-]b": [False, False, False, False, True, False],
        "x[": [False] * 6,
    }
    for glob, expected in cases.items():
        assert pc.match_substring_regex(pa.array(keys), glob_to_re2(glob)).to_pylist() == expected, glob
        assert [fnmatch.fnmatchcase(k, glob) for k in keys] == expected, glob


NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)
CUTOFF = NOW - timedelta(days=7)
# What a mark decides on: references, (key, age in days, size) rows, keep globs and a scope.
MARK_INPUTS = {
    "refs": st.lists(KEY, max_size=5),
    "rows": st.lists(
        st.tuples(KEY, st.integers(0, 14), st.integers(0, 10**12)), max_size=30, unique_by=lambda r: r[0]
    ),
    "globs": st.lists(GLOB, max_size=2),
    "prefixes": st.sampled_from([("",), ("a",), ("a/", "b/"), ("v1",)]),
}


@settings(max_examples=150, deadline=None)
@given(**MARK_INPUTS, bound=BOUND)
def test_the_decision_sql_decides_and_counts_as_mark(
    refs: list[str],
    rows: list[tuple[str, int, int]],
    globs: list[str],
    prefixes: tuple[str, ...],
    bound: int,
) -> None:
    reference = reference_set(refs)
    objects = [ObjectInfo(k, size, NOW - timedelta(days=age), '"e"') for k, age, size in sorted(rows)]
    table = pa.Table.from_pylist(
        [
            {
                "key": o.key,
                "size": o.size,
                "last_modified": o.last_modified,
                "etag": o.etag,
                "storage_class": o.storage_class,
                "current_version_id": None,
            }
            for o in objects
        ],
        schema=OBJECT_SCHEMA,
    )
    tables = ReferenceTables.of(reference, bound)
    con = duckdb_con()
    load_refs(con, tables)
    con.register("objects", table)
    columnar = MarkStats()
    decided = decision_sql("SELECT * FROM objects", tables, prefixes, tuple(globs))
    params = {"cutoff": CUTOFF}
    counted = counts_sql(kept_sql(decided), columnar.largest_limit)  # as plan_from_inventory counts
    add_counts(con.sql(counted, params=params).fetchall(), columnar)
    garbage = [
        k for (k,) in con.sql(f"SELECT key FROM ({decided}) WHERE decision = 0", params=params).fetchall()
    ]
    row = MarkStats()
    expected: list[str] = []
    for prefix in prefixes:
        in_scope = [o for o in objects if o.key.startswith(prefix)]
        found = mark(in_scope, reference, CUTOFF, KeepRules(globs), row)
        row.note_candidates(prefix, found)
        expected += [o.key for o in found]
    assert sorted(garbage) == sorted(expected)
    for name in ("objects", "bytes", "protected", "protected_bytes", "protected_non_folder", "too_young"):
        assert getattr(columnar, name) == getattr(row, name), name
    assert columnar.kept_by_glob == row.kept_by_glob
    assert (columnar.candidates, columnar.candidate_bytes) == (row.candidates, row.candidate_bytes)
    assert columnar.by_prefix_class == row.by_prefix_class
    # which of equally large candidates is listed may differ; the sizes listed may not
    assert [s for s, _ in columnar.largest_candidates()] == [s for s, _ in row.largest_candidates()]


def test_a_reference_to_the_whole_bucket_protects_every_key() -> None:
    keys = ["", "a", "models/x"]
    for refs, expected in (([""], [0, 0, 0]), (["", "a"], [0, 0, 0]), ([], [None, None, None])):
        tables = ReferenceTables.of(reference_set(refs))
        con = duckdb_con()
        load_refs(con, tables)
        con.register("objects", pa.table({"key": pa.array(keys, pa.string())}))
        rows = con.sql(
            f"SELECT key, ref_len FROM ({matched_sql('SELECT * FROM objects', tables)})"
        ).fetchall()
        assert dict(rows) == dict(zip(keys, expected, strict=True)), refs


def objects_table(keys: list[str]) -> pa.Table:
    rows = [
        {
            "key": k,
            "size": 1,
            "last_modified": NOW,
            "etag": '"e"',
            "storage_class": "STANDARD",
            "current_version_id": None,
        }
        for k in keys
    ]
    return pa.Table.from_pylist(rows, schema=OBJECT_SCHEMA)


def non_folder_by_key(reference: ReferenceSet, keys: list[str], bound: int = 8) -> dict[str, bool]:
    """decision_sql's ``non_folder`` of each key, in scope "" (every key)."""
    tables = ReferenceTables.of(reference, bound)
    con = duckdb_con()
    load_refs(con, tables)
    con.register("objects", objects_table(keys))
    decided = decision_sql("SELECT * FROM objects", tables, ("",), ())
    return dict(con.sql(f"SELECT key, non_folder FROM ({decided})", params={"cutoff": CUTOFF}).fetchall())


def test_mid_name_matches_are_settled_in_sql_as_reference_set_settles_them() -> None:
    reference = reference_set(["models/v1", "models/v10", "models/v2", "models/v2x/deep"])
    keys = [
        "models/v10/x",  # v1 mid-name, but v10 stops at its folder boundary: a folder match
        "models/v11/x",  # no longer reference starts with v11: mid-name
        "models/v10x",  # continues v10 mid-name too: mid-name
        "models/v1/y",  # v1 itself at a folder boundary
        "models/v10",  # exactly the longer reference
        "models/v2x/deep/file",  # v2 mid-name; the longer reference stops two folders down
        "models/v2x/deeper",  # continues v2x/deep mid-name: mid-name
        "other/v1",  # no reference
    ]
    expected = {k: reference.match(k) is Match.NON_FOLDER for k in keys}
    assert [k for k, non in expected.items() if non] == ["models/v11/x", "models/v10x", "models/v2x/deeper"]
    assert non_folder_by_key(reference, keys) == expected
    assert mid_name_extensions(reference) == ["models/v10", "models/v2x/deep"]


@settings(max_examples=300, deadline=None)
@given(refs=st.lists(KEY, max_size=8), keys=st.lists(KEY, max_size=40, unique=True), bound=BOUND)
def test_each_rows_mid_name_flag_is_what_reference_set_match_says(
    refs: list[str], keys: list[str], bound: int
) -> None:
    reference = reference_set(refs)
    expected = {k: reference.match(k) is Match.NON_FOLDER for k in keys}
    assert non_folder_by_key(reference, keys, bound) == expected


@settings(max_examples=120, deadline=None)
@given(
    **MARK_INPUTS,
    cuts=st.lists(st.integers(0, 30), max_size=4),
)
def test_a_worker_deciding_batch_by_batch_decides_and_counts_as_mark(
    refs: list[str],
    rows: list[tuple[str, int, int]],
    globs: list[str],
    prefixes: tuple[str, ...],
    cuts: list[int],
) -> None:
    """What a Spark executor runs (decide_batches over raw inventory batches, cut anywhere) decides every
    row as mark() does, and its per-row mid-name flags add up to mark()'s mid-name count."""
    from artifact_gc.collect.columnar import current_objects_sql
    from artifact_gc.collect.inventory_mark import CURRENT_BATCH, decide_batches

    reference = reference_set(refs)
    objects = [ObjectInfo(k, size, NOW - timedelta(days=age), '"e"') for k, age, size in sorted(rows)]
    raw = pa.table(
        {
            "key": pa.array([o.key for o in objects], pa.string()),
            "size": pa.array([o.size for o in objects], pa.int64()),
            "last_modified_date": pa.array([o.last_modified for o in objects], pa.timestamp("ms", tz="UTC")),
            "e_tag": pa.array(["e"] * len(objects), pa.string()),
        }
    )
    bounds = sorted({0, len(objects), *(c for c in cuts if c < len(objects))})
    batches = [raw.slice(a, b - a).to_batches()[0] for a, b in itertools.pairwise(bounds) if b > a]
    columns = ("key", "size", "last_modified_date", "e_tag")
    source = current_objects_sql("SELECT * FROM inventory_batch", "Parquet", columns, False)
    out = decide_batches(
        iter(batches),
        source,
        decision_sql(CURRENT_BATCH, ReferenceTables.of(reference), prefixes, tuple(globs)),
        ReferenceTables.of(reference),
        CUTOFF,
    )
    decided = [r for batch in out for r in batch.to_pylist()]
    row = MarkStats()
    expected: list[str] = []
    for prefix in prefixes:
        found = mark(
            [o for o in objects if o.key.startswith(prefix)], reference, CUTOFF, KeepRules(globs), row
        )
        expected += [o.key for o in found]
    assert sorted(r["key"] for r in decided if r["decision"] == 0) == sorted(expected)
    assert all(r["key"] is None for r in decided if r["decision"] != 0)
    assert sum(r["decision"] == 1 for r in decided) == row.protected
    assert sum(r["decision"] == 2 for r in decided) == row.too_young
    assert sum(r["decision"] == 3 for r in decided) == row.kept_by_glob
    assert sum(r["non_folder"] for r in decided) == row.protected_non_folder
    assert all(r["etag"] == '"e"' for r in decided if r["decision"] == 0)
