"""mark(): the decision order and the counters the summary is built from."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from artifact_gc import ReferenceSet
from artifact_gc.collect.mark import COUNTERS, KeepRules, MarkStats, mark
from artifact_gc.collect.object_info import ObjectInfo

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
CUTOFF = NOW - timedelta(days=7)


def obj(key: str, age_days: float, size: int = 10, storage_class: str = "STANDARD") -> ObjectInfo:
    return ObjectInfo(key, size, NOW - timedelta(days=age_days), '"etag"', storage_class)


def test_decisions_in_order_protected_young_kept_candidate() -> None:
    refs = ReferenceSet.from_uris(["models/a/v1"], "b")
    page = [
        obj("models/a/v1/m.bin", 100, 5),  # protected (old, but referenced)
        obj("models/a/v10/m.bin", 100, 6),  # protected mid-name
        obj("models/a/v2/m.bin", 3, 7),  # too young
        obj("models/a/v2/README.md", 100, 8),  # kept by glob
        obj("models/a/v2/m.bin.old", 100, 9, "GLACIER_IR"),  # candidate
    ]
    stats = MarkStats()
    garbage = mark(page, refs, CUTOFF, KeepRules(["*.md"]), stats)
    assert [o.key for o in garbage] == ["models/a/v2/m.bin.old"]
    assert (stats.objects, stats.bytes) == (5, 35)
    assert (stats.protected, stats.protected_bytes, stats.protected_non_folder) == (2, 11, 1)
    assert (stats.too_young, stats.kept_by_glob) == (1, 1)
    assert stats.candidates == 0  # counted by whoever consumes the candidates
    stats.note_candidates("models/", garbage)
    assert (stats.candidates, stats.candidate_bytes) == (1, 9)
    assert stats.by_prefix_class == {("models/", "GLACIER_IR"): 1}


def test_cutoff_boundary_is_kept() -> None:
    refs = ReferenceSet.from_uris(["unrelated"], "b")
    exactly = ObjectInfo("k", 1, CUTOFF, '"e"')
    older = ObjectInfo("j", 1, CUTOFF - timedelta(seconds=1), '"e"')
    assert [o.key for o in mark([exactly, older], refs, CUTOFF, KeepRules(), MarkStats())] == ["j"]


def test_keep_globs_are_case_sensitive_and_star_crosses_folders() -> None:
    keep = KeepRules(["models/*/prod/*", "*.LOCK"])
    assert keep.keeps("models/a/b/prod/x")
    assert keep.keeps("x.LOCK") and not keep.keeps("x.lock")
    assert not KeepRules().keeps("anything")


def test_largest_candidates_are_the_largest_across_pages() -> None:
    stats = MarkStats(largest_limit=3)
    stats.note_candidates("p/", [obj(f"p/{i}", 100, size=i) for i in range(10)])
    stats.note_candidates("q/", [obj("q/huge", 100, size=1000), obj("q/tiny", 100, size=0)])
    assert stats.largest_candidates() == [(1000, "q/huge"), (9, "p/9"), (8, "p/8")]


def test_stats_add_up_over_pages_and_calls() -> None:
    from artifact_gc.refs.reachability import ReferenceSet
    from artifact_gc.refs.uris import Location

    refs = ReferenceSet.from_locations({Location("b", "models/v1"), Location("b", "models/keep/x")}, "b")
    cutoff = datetime(2026, 1, 10, tzinfo=timezone.utc)
    old, young = cutoff - timedelta(days=1), cutoff
    stats = MarkStats()
    keep = KeepRules(["*.lock"])
    pages = [
        [
            ObjectInfo("models/v1/w", 1, old, ""),  # protected at a folder boundary
            ObjectInfo("models/v10/w", 2, old, ""),  # protected mid-name
            ObjectInfo("models/a.lock", 4, old, ""),
            ObjectInfo("models/a2.lock", 512, old, ""),
            ObjectInfo("models/v12", 1024, old, ""),  # mid-name, the second in this page
            ObjectInfo("models/new", 8, young, ""),
            ObjectInfo("models/g1", 16, old, "", "GLACIER_IR"),
        ],
        [
            ObjectInfo("models/v11", 32, old, ""),  # mid-name again
            ObjectInfo("models/b.lock", 64, old, ""),
            ObjectInfo("models/new2", 128, young, ""),
            ObjectInfo("models/g2", 256, old, "", "GLACIER_IR"),
        ],
    ]
    for page in pages:
        stats.note_candidates("models/", mark(page, refs, cutoff, keep, stats))
    assert (stats.objects, stats.bytes) == (11, 2047)
    assert (stats.protected, stats.protected_bytes, stats.protected_non_folder) == (4, 1059, 3)
    assert (stats.too_young, stats.kept_by_glob) == (2, 3)
    assert (stats.candidates, stats.candidate_bytes) == (2, 272)
    assert stats.by_prefix_class == {("models/", "GLACIER_IR"): 2}
    assert stats.bytes_by_prefix_class == {("models/", "GLACIER_IR"): 272}


def test_the_largest_list_keeps_the_first_of_equal_sizes() -> None:
    stats = MarkStats(largest_limit=1)
    stats.note_candidates("", [ObjectInfo("a", 5, datetime.now(timezone.utc), "")])
    stats.note_candidates("", [ObjectInfo("b", 5, datetime.now(timezone.utc), "")])
    assert stats.largest_candidates() == [(5, "a")]
    stats.note_candidates("", [ObjectInfo("c", 6, datetime.now(timezone.utc), "")])
    assert stats.largest_candidates() == [(6, "c")]


def test_a_glob_star_crosses_newlines_in_keys() -> None:
    assert KeepRules(["models/*"]).keeps("models/a\nb")


def test_counts_marked_in_parts_merge_into_the_counts_of_one_pass() -> None:
    """--list-concurrency marks each part into its own counters; merged, they are one pass's counters."""
    refs = ReferenceSet.from_uris(["models/keep/", "models/v1"], "b")
    keep = KeepRules(["*.lock"])
    objects = [
        obj("models/keep/a", 30, 1),
        obj("models/v10/x", 30, 2),
        obj("models/new", 1, 4),
        obj("models/x.lock", 30, 8),
        obj("models/g1", 30, 16, "GLACIER_IR"),
        obj("models/g2", 30, 32),
        obj("models/g3", 30, 64, "GLACIER_IR"),
        obj("models/g4", 30, 128),
    ]
    whole = MarkStats(largest_limit=2)
    whole.note_candidates("models/", mark(objects, refs, CUTOFF, keep, whole))
    first, second = MarkStats(largest_limit=2), MarkStats(largest_limit=2)
    first.note_candidates("models/", mark(objects[:5], refs, CUTOFF, keep, first))
    second.note_candidates("models/", mark(objects[5:], refs, CUTOFF, keep, second))
    first.merge(second)
    for name in COUNTERS:
        assert getattr(first, name) == getattr(whole, name), name
    assert (
        first.by_prefix_class
        == whole.by_prefix_class
        == {("models/", "GLACIER_IR"): 2, ("models/", "STANDARD"): 2}
    )
    assert first.bytes_by_prefix_class == whole.bytes_by_prefix_class
    assert first.largest_candidates() == whole.largest_candidates() == [(128, "models/g4"), (64, "models/g3")]
    assert len(first.largest) == 2
    # the merged list is still a heap: a later candidate replaces the smallest
    first.note_candidates("models/", [obj("models/h", 30, 100)])
    assert first.largest_candidates() == [(128, "models/g4"), (100, "models/h")]
