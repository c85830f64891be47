"""A Parquet plan's candidates are read column by column when its columns are plain, and record by record
(``candidate_from_record``, the authority) otherwise: both readers must give the same candidates, or the
same refusal, for any file a user could hand apply, rescue or report."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from artifact_gc.collect import parquet_plan
from artifact_gc.collect.parquet_plan import HEADER_KEY, iter_parquet_candidates, iter_parquet_keys
from artifact_gc.collect.planfile import iter_candidate_keys, planned_keys
from artifact_gc.errors import UsageError

WHEN = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
MOMENTS = st.sampled_from(
    [
        WHEN,
        WHEN.replace(microsecond=0),
        datetime(1, 1, 1, tzinfo=timezone.utc),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
    ]
)
TEXT = st.text(alphabet="ab/é \x00", max_size=3)


def _types(name: str) -> st.SearchStrategy[Any]:
    """The Arrow types a column of that name may have in a file someone hands us."""
    text = st.sampled_from([pa.string(), pa.large_string()])
    if name == "size":
        return st.sampled_from([pa.int64(), pa.int32(), pa.uint64(), pa.float64(), pa.string(), pa.bool_()])
    if name == "last_modified":
        return st.sampled_from(
            [
                pa.timestamp("us", tz="UTC"),
                pa.timestamp("ms", tz="UTC"),
                pa.timestamp("s", tz="+02:00"),
                pa.timestamp("ns", tz="UTC"),
                pa.timestamp("us"),  # no time zone
                pa.string(),
            ]
        )
    return text | st.sampled_from([pa.null(), pa.int64()])


def _value(kind: Any, allow_null: bool) -> st.SearchStrategy[Any]:
    nulls = st.none() if allow_null else st.nothing()
    if pa.types.is_null(kind):
        return st.none()
    if pa.types.is_timestamp(kind):
        return nulls | MOMENTS.map(lambda m: m if kind.tz else m.replace(tzinfo=None))
    if pa.types.is_floating(kind):
        return nulls | st.sampled_from([0.0, 3.0, 2.5])
    if pa.types.is_boolean(kind):
        return nulls | st.booleans()
    if pa.types.is_integer(kind):
        low = 0 if pa.types.is_unsigned_integer(kind) else -3
        return nulls | st.integers(low, 2**31 - 1) if kind.bit_width > 32 else nulls | st.integers(low, 99)
    return nulls | TEXT | st.sampled_from([WHEN.isoformat(), "2025-01-02T03:04:05Z", "2025-01-02T03:04:05"])


PLAIN = {"size": pa.int64(), "last_modified": pa.timestamp("us", tz="UTC")}  # else text


@st.composite
def plan_tables(draw: st.DrawFn) -> pa.Table:
    """Half the tables are wild (any type, nulls anywhere); the others have the columns our writers write
    but for at most one change (a column's type, nulls in one column, one required column missing), so
    that each of the column reader's conditions is tried on its own."""
    names = ["key", "etag", "size", "last_modified"]
    names += [n for n in ("storage_class", "current_version_id", "prefix") if draw(st.booleans())]
    if draw(st.integers(0, 5)) == 0:
        names.append("version_id")
    rows = draw(st.integers(0, 6))
    wild = draw(st.booleans())
    change = draw(st.sampled_from(["none", "type", "nulls", "missing"]))
    target = draw(st.sampled_from(names))
    if not wild and change == "missing":
        names.remove(target)
    columns = {}
    for name in names:
        kind = PLAIN.get(name, pa.string())
        if wild or (change == "type" and name == target):
            kind = draw(_types(name))
        nulls = wild or (change == "nulls" and name == target)
        values = draw(st.lists(_value(kind, nulls), min_size=rows, max_size=rows))
        try:
            columns[name] = pa.array(values, kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            columns[name] = pa.array([None] * rows, kind)
    return pa.table(columns)


def _outcome(read: Any) -> tuple[str, Any]:
    try:
        return "read", [repr(item) for item in read()]
    except UsageError as exc:
        return "refused", str(exc)


def plain_but(**changed: pa.Array) -> pa.Table:
    """Two candidates as our writers write them, but for the ``changed`` columns."""
    columns = {
        "key": pa.array(["k", "l"]),
        "etag": pa.array(['"e"', '"f"']),
        "size": pa.array([1, 2], PLAIN["size"]),
        "last_modified": pa.array([WHEN, WHEN], PLAIN["last_modified"]),
        "prefix": pa.array(["", "m/"]),
    }
    return pa.table(columns | changed)


LAST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
# One of each change the column reader must hand to the record reader, however rarely drawn:
EDGES = [
    plain_but(prefix=pa.array([None, "m/"])),  # the record reader spells a null prefix "None"
    plain_but(etag=pa.array([None, '"f"'])),
    plain_but(key=pa.array([1, 2])),
    plain_but(storage_class=pa.array([1, 0])),  # the record reader spells it "1"
    plain_but(prefix=pa.array([1, 2])),
    plain_but(version_id=pa.array(["v1", None])),
    plain_but(last_modified=pa.array([1, 2], pa.timestamp("ns", tz="UTC"))),  # finer than a microsecond
    plain_but(size=pa.array([1.0, 2.0])),
    plain_but(last_modified=pa.array([LAST, LAST], pa.timestamp("s", tz="+02:00"))),  # year 10000 there
    plain_but(last_modified=pa.array([WHEN, WHEN], pa.timestamp("us"))),  # no zone: read as local time
]


def edges(test: Any) -> Any:
    for table in EDGES:
        test = example(table=table, batch=1)(test)
    return test


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=plan_tables(), batch=st.integers(1, 4))
@edges
def test_the_column_reader_reads_what_the_record_reader_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: pa.Table, batch: int
) -> None:
    """In a time zone other than UTC, so that a timestamp without one reads the same both ways too."""
    path = tmp_path / "plan.parquet"
    pq.write_table(table.replace_schema_metadata({HEADER_KEY: b"{}"}), path, row_group_size=batch)
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    fast = _outcome(lambda: iter_parquet_candidates(path)), _outcome(lambda: iter_parquet_keys(path))
    with monkeypatch.context() as patched:
        patched.setattr(parquet_plan, "_plain_columns", lambda _: False)
        slow = _outcome(lambda: iter_parquet_candidates(path)), _outcome(lambda: iter_parquet_keys(path))
    monkeypatch.undo()
    time.tzset()
    assert fast == slow


def _plan(path: Path, rows: list[dict[str, Any]]) -> Path:
    from artifact_gc.collect.columnar import CANDIDATE_SCHEMA

    schema = CANDIDATE_SCHEMA.with_metadata({HEADER_KEY: b"{}"})
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, row_group_size=65536)
    return path


def _row(key: str, **changes: Any) -> dict[str, Any]:
    return {
        "key": key,
        "size": 3,
        "last_modified": WHEN,
        "etag": '"e"',
        "storage_class": "",
        "current_version_id": None,
        "prefix": "models/",
    } | changes


def test_a_plain_plan_is_read_column_by_column_with_every_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plans our writers write take the column reader, at the edges of what it takes too (an empty
    object, the first and last instants Python holds, only the four columns a candidate needs); it keeps
    every field as the record reader does (an empty class is STANDARD, the instant is UTC to the
    microsecond)."""
    first_instant = datetime.min.replace(tzinfo=timezone.utc)
    last_instant = datetime.max.replace(tzinfo=timezone.utc)
    path = _plan(
        tmp_path / "plan.parquet",
        [
            _row("models/a"),
            _row("models/b", current_version_id="null", size=0),
            _row("models/c", last_modified=first_instant),
            _row("models/d", last_modified=last_instant),
        ],
    )
    monkeypatch.setattr(parquet_plan, "_record_candidates", None)  # any record-by-record read fails
    first, second, third, fourth = iter_parquet_candidates(path)
    assert (first.obj.key, first.obj.size, first.obj.etag, first.prefix) == ("models/a", 3, '"e"', "models/")
    assert first.obj.storage_class == "STANDARD" and first.obj.current_version_id is None
    assert first.obj.last_modified == WHEN and first.obj.last_modified.tzinfo is timezone.utc
    assert (second.obj.current_version_id, second.obj.size) == ("null", 0)
    assert (third.obj.last_modified, fourth.obj.last_modified) == (first_instant, last_instant)
    assert list(iter_candidate_keys(path)) == ["models/a", "models/b", "models/c", "models/d"]
    bare = tmp_path / "bare.parquet"
    table = pq.read_table(path).select(["key", "etag", "size", "last_modified"])
    pq.write_table(table.replace_schema_metadata({HEADER_KEY: b"{}"}), bare)
    assert [(c.obj.key, c.obj.storage_class, c.prefix) for c in iter_parquet_candidates(bare)][:1] == [
        ("models/a", "STANDARD", "")
    ]


def test_the_record_reader_names_a_row_without_a_date(tmp_path: Path) -> None:
    """What the column reader hands over is refused by the record reader as a bad candidate of that row,
    not as an unreadable file."""
    path = _plan(tmp_path / "plan.parquet", [_row("models/a"), _row("models/b", last_modified=None)])
    with pytest.raises(UsageError) as caught:
        list(iter_parquet_candidates(path))
    assert str(caught.value).startswith(f"plan {path} row 2: not a valid plan candidate (")


def test_a_bad_row_among_plain_ones_is_named(tmp_path: Path) -> None:
    """A negative size sends its batch to the record reader, which names the row: nothing before it is
    read differently, nothing after it is read."""
    rows = [_row(f"models/{n:06d}") for n in range(140_000)]
    rows[135_000]["size"] = -1  # in the third batch of 65,536 rows
    path = _plan(tmp_path / "plan.parquet", rows)
    with pytest.raises(UsageError) as caught:
        list(planned_keys(path))
    assert str(caught.value) == (
        f"plan {path} row 135001: not a valid plan candidate (size must be a whole number of bytes)"
    )


def test_instants_outside_pythons_years_are_refused_by_the_record_reader(tmp_path: Path) -> None:
    """Year 10000 fits an Arrow timestamp, not a Python datetime: the batch is not plain, and the record
    reader refuses the file (exit 2) instead of the column reader overflowing."""
    for seconds in (253402300800, -62135596801):  # 10000-01-01T00:00:00Z, 0000-12-31T23:59:59Z
        moment = pa.array([seconds], pa.timestamp("s", tz="UTC"))
        table = pa.table(
            {"key": ["k"], "size": [1], "last_modified": moment, "etag": ['"e"']},
        ).replace_schema_metadata({HEADER_KEY: b"{}"})
        path = tmp_path / f"plan{seconds}.parquet"
        pq.write_table(table, path)
        assert not parquet_plan._plain_columns(table.to_batches()[0])
        with pytest.raises(UsageError) as caught:
            list(iter_parquet_candidates(path))
        assert str(caught.value).startswith(f"plan {path}: cannot read its candidates")
    moments = pa.array([WHEN, WHEN + timedelta(days=1)], pa.timestamp("us", tz="UTC"))
    first, second = parquet_plan._micros(moments).to_pylist()
    assert second - first == 86_400 * 10**6
