"""Cost maths against hand-computed figures, and the projection's invariants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artifact_gc.cost.simulate import build_population, project, schedule_for
from artifact_gc.errors import UsageError
from artifact_gc.report.build import load_prices

P = load_prices("us-east-1")
GIB = 2**30
KIB = 1024


# ------------------------------------------------------------------------------------------ cost maths


def test_storage_prices_by_class() -> None:
    assert P.monthly_cost(GIB, "STANDARD") == pytest.approx(0.023)
    assert P.monthly_cost(GIB, "STANDARD_IA", count=10) == pytest.approx(0.125)
    assert P.monthly_cost(GIB, "GLACIER_IR") == pytest.approx(0.004)
    assert P.monthly_cost(GIB, "DEEP_ARCHIVE") == pytest.approx(
        0.00099 * (GIB + 32 * KIB) / GIB + 0.023 * 8 * KIB / GIB
    )


def test_small_objects_are_billed_at_the_class_minimum() -> None:
    assert P.monthly_cost(10 * KIB, "STANDARD") == pytest.approx(0.023 * 10 * KIB / GIB)
    assert P.monthly_cost(10 * KIB, "STANDARD_IA") == pytest.approx(0.0125 * 128 * KIB / GIB)
    assert P.monthly_cost(10 * KIB, "GLACIER_IR") == pytest.approx(0.004 * 128 * KIB / GIB)
    # archived objects carry 32 KB at the archive rate and 8 KB at Standard
    assert P.monthly_cost(10 * KIB, "GLACIER") == pytest.approx(
        0.0036 * 42 * KIB / GIB + 0.023 * 8 * KIB / GIB
    )


def test_transition_and_early_deletion_charges() -> None:
    assert P.transition_cost("GLACIER_IR", 1000) == pytest.approx(0.02)
    assert P.transition_cost("DEEP_ARCHIVE", 2500) == pytest.approx(0.125)
    # 1 GiB leaves Glacier IR after 30 of its 90 days: 60 days, i.e. two months, at $0.004
    assert P.early_deletion_cost(GIB, "GLACIER_IR", 30) == pytest.approx(0.008)
    assert P.early_deletion_cost(GIB, "GLACIER_IR", 120) == 0.0
    assert P.early_deletion_cost(GIB, "STANDARD", 1) == 0.0


def test_price_table_from_file_and_region_fallback(tmp_path: Path) -> None:
    assert P.region == "us-east-1" and not P.assumed_region and P.as_of
    fallback = load_prices("ap-south-2")
    assert fallback.assumed_region and fallback.storage_rate("STANDARD") == 0.023
    custom = tmp_path / "prices.json"
    custom.write_text(
        json.dumps({"regions": {"us-east-1": {"storage_gb_month": {"STANDARD": 0.05}}}, "as_of": "test"})
    )
    assert load_prices("us-east-1", custom).monthly_cost(GIB, "STANDARD") == pytest.approx(0.05)
    custom.write_text('{"regions": {}}')
    with pytest.raises(UsageError, match="not a price table"):
        load_prices("us-east-1", custom)
    with pytest.raises(UsageError, match="cannot read"):
        load_prices("us-east-1", tmp_path / "missing.json")


# ------------------------------------------------------------------------------------------- simulation

TIERS = [
    {
        "ID": "t",
        "Status": "Enabled",
        "Filter": {"Prefix": "ckpt/"},
        "Transitions": [
            {"Days": 30, "StorageClass": "STANDARD_IA"},
            {"Days": 60, "StorageClass": "GLACIER_IR"},
        ],
        "Expiration": {"Days": 180},
    }
]


def records(n: int, size: int = GIB, age: int = 0, cls: str = "STANDARD", prefix: str = "ckpt/"):
    return [(f"{prefix}{i}", size, cls, age, False, 0) for i in range(n)]


def test_hand_computed_projection() -> None:
    months = project(build_population(records(1000), TIERS), P, "c", "tiers").months
    assert [round(m.storage_cost, 4) for m in months] == [23.0, 12.5, 4.0, 4.0, 4.0, 4.0] + [0.0] * 6
    assert [round(m.transition_cost, 4) for m in months[:3]] == [0.0, 0.01, 0.02]
    assert all(m.early_deletion_cost == 0 for m in months)


def test_no_rules_equals_scenario_a() -> None:
    population = records(10, age=100) + records(5, size=50 * KIB, cls="STANDARD_IA", prefix="m/")
    a = project(build_population(population, []), P, "a", "a")
    empty = project(
        build_population(
            population, [{"ID": "x", "Status": "Disabled", "Filter": {}, "Expiration": {"Days": 1}}]
        ),
        P,
        "b",
        "b",
    )
    assert [m.total for m in a.months] == [m.total for m in empty.months]
    expected = 10 * P.monthly_cost(GIB, "STANDARD") + 5 * P.monthly_cost(50 * KIB, "STANDARD_IA")
    assert all(m.storage_cost == pytest.approx(expected) for m in a.months)


def test_small_objects_stay_unless_the_bucket_transitions_them() -> None:
    small = records(100, size=10 * KIB)
    default = project(build_population(small, TIERS), P, "c", "c").months
    assert default[1].bytes_by_class == {"STANDARD": 100 * 10 * KIB} and default[1].transition_cost == 0
    varies = project(build_population(small, TIERS), P, "c", "c", transition_small_objects=True).months
    assert varies[1].bytes_by_class == {"STANDARD_IA": 100 * 10 * KIB}
    # billed as 128 KB each in Standard-IA: dearer than staying in Standard
    assert varies[1].storage_cost > default[1].storage_cost


def test_leaving_a_class_early_is_charged() -> None:
    rules = [
        {
            "ID": "x",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "Transitions": [{"Days": 0, "StorageClass": "GLACIER_IR"}],
            "Expiration": {"Days": 30},
        }
    ]
    months = project(build_population(records(1, prefix=""), rules), P, "x", "x").months
    assert months[1].early_deletion_cost == pytest.approx(0.008)  # 60 unserved days of 1 GiB Glacier IR


def test_versioned_deletions_stay_as_noncurrent_until_they_expire() -> None:
    rules = [
        {"ID": "nc", "Status": "Enabled", "Filter": {}, "NoncurrentVersionExpiration": {"NoncurrentDays": 45}}
    ]
    population = records(4, prefix="p/")
    kept = project(
        build_population(population, rules, frozenset({"p/0", "p/1"}), deleted_become_noncurrent=True),
        P,
        "d",
        "d",
    ).months
    gone = project(build_population(population, rules, frozenset({"p/0", "p/1"})), P, "d", "d").months
    assert kept[0].storage_cost == pytest.approx(4 * 0.023) and kept[1].storage_cost == pytest.approx(
        4 * 0.023
    )
    assert kept[2].storage_cost == pytest.approx(2 * 0.023)  # expired 45 days after becoming noncurrent
    assert gone[0].storage_cost == pytest.approx(2 * 0.023)


def test_newer_noncurrent_versions_are_retained() -> None:
    rules = [
        {
            "ID": "nc",
            "Status": "Enabled",
            "Filter": {"Prefix": "m/"},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1, "NewerNoncurrentVersions": 2},
        }
    ]
    versions = [("m/a", GIB, "STANDARD", 10, True, rank) for rank in (1, 2, 3, 4)]
    months = project(build_population(versions, rules), P, "b", "b").months
    assert months[0].storage_cost == pytest.approx(2 * 0.023)  # ranks 3 and 4 expired, the newest two kept


def test_growth_adds_new_standard_data() -> None:
    grown = project(build_population(records(10), []), P, "a", "a", growth_bytes_per_month=GIB).months
    assert [round(m.storage_cost, 3) for m in grown[:3]] == [0.23, 0.253, 0.276]


def test_schedule_combines_matching_rules() -> None:
    rules = [
        *TIERS,
        {"ID": "all", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 90}},
        {
            "ID": "tag",
            "Status": "Enabled",
            "Filter": {"Tag": {"Key": "k", "Value": "v"}},
            "Expiration": {"Days": 1},
        },
        {
            "ID": "big",
            "Status": "Enabled",
            "Filter": {"And": {"Prefix": "ckpt/", "ObjectSizeGreaterThan": 1000}},
            "Transitions": [{"Days": 10, "StorageClass": "DEEP_ARCHIVE"}],
        },
    ]
    schedule = schedule_for(rules, "ckpt/x", 5000)
    assert schedule.expiration_days == 90  # the shorter expiration wins; the tag rule never matches
    assert schedule.transitions == ((10, "DEEP_ARCHIVE"), (30, "STANDARD_IA"), (60, "GLACIER_IR"))
    assert schedule_for(rules, "ckpt/x", 10).transitions == ((30, "STANDARD_IA"), (60, "GLACIER_IR"))


# --------------------------------------------------------------------------------------------- properties

classes = st.sampled_from(["STANDARD", "STANDARD_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"])
objects = st.lists(
    st.tuples(
        st.sampled_from(["ckpt/", "models/", "tmp/"]), st.integers(0, 5 * 2**20), classes, st.integers(0, 400)
    ),
    min_size=1,
    max_size=40,
)


@st.composite
def rule_sets(draw):
    rules = []
    for prefix in draw(st.lists(st.sampled_from(["ckpt/", "models/", ""]), unique=True, max_size=3)):
        ia = draw(st.one_of(st.none(), st.integers(30, 60)))
        gir = draw(st.one_of(st.none(), st.integers(90, 200)))
        expire = draw(st.one_of(st.none(), st.integers(201, 400)))
        transitions = [
            {"Days": d, "StorageClass": c}
            for d, c in ((ia, "STANDARD_IA"), (gir, "GLACIER_IR"))
            if d is not None
        ]
        rule = {"ID": prefix or "all", "Status": "Enabled", "Filter": {"Prefix": prefix} if prefix else {}}
        if transitions:
            rule["Transitions"] = transitions
        if expire:
            rule["Expiration"] = {"Days": expire}
        rules.append(rule)
    return rules


@settings(max_examples=150, deadline=None)
@given(objs=objects, rules=rule_sets(), data=st.data())
def test_projection_invariants(objs, rules, data) -> None:
    population = [(f"{p}{i}", size, cls, age, False, 0) for i, (p, size, cls, age) in enumerate(objs)]
    keys = [r[0] for r in population]
    some = frozenset(data.draw(st.lists(st.sampled_from(keys), unique=True)))
    more = some | frozenset(data.draw(st.lists(st.sampled_from(keys), unique=True)))
    c = project(build_population(population, rules), P, "c", "c")
    d_some = project(build_population(population, rules, some), P, "d", "d")
    d_more = project(build_population(population, rules, more), P, "d", "d")
    for projection in (c, d_some, d_more):
        for month in projection.months:
            assert month.storage_cost >= 0 and month.transition_cost >= 0 and month.early_deletion_cost >= 0
    for m_c, m_some, m_more in zip(c.months, d_some.months, d_more.months, strict=True):
        # on an unversioned bucket, deleting more never costs more storage
        assert m_some.storage_cost <= m_c.storage_cost + 1e-12
        assert m_more.storage_cost <= m_some.storage_cost + 1e-12


def test_overlapping_noncurrent_rules_follow_s3_precedence() -> None:
    """Deletion wins over retention and the earliest expiration applies: a housekeeping rule that expires
    every noncurrent version after 30 days is not disarmed by a tier that keeps the newest two (a tie at
    the same days used to keep those versions for ever)."""
    keep_two = {
        "ID": "tier",
        "Status": "Enabled",
        "Filter": {"Prefix": "m/"},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 30, "NewerNoncurrentVersions": 2},
    }
    housekeeping = {
        "ID": "housekeeping",
        "Status": "Enabled",
        "Filter": {},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
    }
    schedule = schedule_for([keep_two, housekeeping], "m/a", GIB)
    assert [schedule.noncurrent_expiry(rank) for rank in (1, 2, 3)] == [30, 30, 30]
    alone = schedule_for([keep_two], "m/a", GIB)
    assert [alone.noncurrent_expiry(rank) for rank in (1, 2, 3)] == [None, None, 30]
    later = schedule_for(
        [keep_two, housekeeping | {"NoncurrentVersionExpiration": {"NoncurrentDays": 90}}], "m/a", GIB
    )
    assert [later.noncurrent_expiry(rank) for rank in (1, 3)] == [90, 30]
    versions = [("m/a", GIB, "STANDARD", 40, True, rank) for rank in (1, 2, 3)]
    months = project(build_population(versions, [keep_two, housekeeping]), P, "b", "b").months
    assert months[0].storage_cost == 0  # all three are past 30 days noncurrent: all expired
