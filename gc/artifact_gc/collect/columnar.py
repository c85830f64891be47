"""Mark a whole inventory with DuckDB: the same decisions as :func:`artifact_gc.collect.mark.mark`, in SQL.

Pure: this module builds SQL text and counts Arrow batches; inventory_mark.py runs it.

Reachability keeps its one rule (``ReferenceSet``: a key is protected when it starts with a reference's
key). In the sorted prefix-free set of references at most one reference is a prefix of a given key. The
references are grouped in a few *levels* (:func:`lookup_levels`): a level is looked up by one length
``l``, and at most a handful of its references share their first ``l`` characters. So each key costs one
hash lookup of its first ``l`` characters per level, then a ``starts_with`` against at most that handful:
vectorised, parallel over DuckDB's threads, with memory bounded by the references, never by the objects,
and a cost that does not grow with the number of distinct reference lengths (a registry of runs, steps
and files has twenty). The property tests in tests/collect/test_columnar.py check the SQL against
``ReferenceSet``, ``fnmatch`` and :func:`mark`.
"""

from __future__ import annotations

import functools
import heapq
import re
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from artifact_gc.collect.mark import MarkStats
from artifact_gc.errors import UsageError
from artifact_gc.refs.reachability import ReferenceSet

# The columns an object source hands to the mark (one row per current object): etag as ListObjects spells
# it (in double quotes), current_version_id null when the source does not know it. A candidate adds its
# scope prefix.
OBJECT_COLUMNS = ("key", "size", "last_modified", "etag", "storage_class", "current_version_id")
CANDIDATE_COLUMNS = (*OBJECT_COLUMNS, "prefix")


def __getattr__(name: str) -> Any:
    """``OBJECT_SCHEMA`` and ``CANDIDATE_SCHEMA`` (Arrow), built on first use: the SQL here needs no
    pyarrow, so importing the mark works without artifact-gc[inventory] and its readers can say so."""
    if name not in ("OBJECT_SCHEMA", "CANDIDATE_SCHEMA"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import pyarrow as pa

    types = {"size": pa.int64(), "last_modified": pa.timestamp("us", tz="UTC")}
    columns = OBJECT_COLUMNS if name == "OBJECT_SCHEMA" else CANDIDATE_COLUMNS
    schema = pa.schema([(column, types.get(column, pa.string())) for column in columns])
    globals()[name] = schema
    return schema


def glob_to_re2(glob: str) -> str:
    """``fnmatch.fnmatchcase`` semantics as an RE2 pattern anchored at both ends (for Arrow's regex kernels).

    ``*`` is any run of characters (``/`` included), ``?`` one character, ``[...]`` a set (``[!...]``
    negated, ``]`` first is literal, no escapes); an unclosed ``[`` is literal.
    """
    out = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        i += 1
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            j = i
            if j < n and glob[j] == "!":
                j += 1
            if j < n and glob[j] == "]":
                j += 1
            while j < n and glob[j] != "]":
                j += 1
            if j >= n:
                out.append(re.escape("["))
                continue
            body = glob[i:j]
            i = j + 1
            out.append(_bracket(body))
        else:
            out.append(_literal(c))
    return "(?s)^" + "".join(out) + "$"


def _literal(text: str) -> str:
    return "".join(c if c.isalnum() and c.isascii() else f"\\x{{{ord(c):x}}}" for c in text)


def _bracket(body: str) -> str:
    """A fnmatch set as an RE2 class: ranges kept when ascending, dropped when empty (as fnmatch does)."""
    negate = body.startswith("!")
    if negate:
        body = body[1:]
    items = []
    k = 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == "-":
            low, high = body[k], body[k + 2]
            if low <= high:
                items.append(f"\\x{{{ord(low):x}}}-\\x{{{ord(high):x}}}")
            k += 3
        else:
            items.append(f"\\x{{{ord(body[k]):x}}}")
            k += 1
    if not items:
        return "." if negate else "[^\\x{0}-\\x{10ffff}]"  # [!] matches any one character; [] none
    return ("[^" if negate else "[") + "".join(items) + "]"


def sql_literal(text: str, what: str) -> str:
    """A DuckDB string literal (quotes doubled; backslashes are literal there)."""
    if "\x00" in text:
        raise UsageError(f"{what} {text!r} holds a NUL character, which no S3 key holds")
    return "'" + text.replace("'", "''") + "'"


BUCKET_BOUND = 8  # the most texts of a level that share their first ``l`` characters (tested per key)


def lookup_levels(texts: list[str], bound: int = BUCKET_BOUND) -> list[tuple[int, list[str]]]:
    """``texts`` (distinct) in levels ``(l, members)`` for lookup by their first ``l`` characters.

    Levels take consecutive lengths, shortest first; ``l`` is the shortest length of a level's members,
    and at most ``bound`` members share their first ``l`` characters. Texts of one length always fit one
    level (distinct texts of length ``l`` share nothing), so there are never more levels than lengths,
    and usually far fewer: references that differ before their varying part (``.../run-7/`` and
    ``.../run-7/step-3000/w.pt`` under different runs) share a level."""
    if bound < 1:
        raise ValueError(f"bound {bound}: a level holds at least one text per bucket")
    by_length: defaultdict[int, list[str]] = defaultdict(list)
    for text in texts:
        by_length[len(text)].append(text)
    levels: list[tuple[int, list[str], Counter[str]]] = []
    for length in sorted(by_length):
        group = by_length[length]
        if levels:
            cut, members, buckets = levels[-1]
            more = Counter(text[:cut] for text in group)
            if all(buckets[start] + count <= bound for start, count in more.items()):
                members += group
                buckets.update(more)
                continue
        levels.append((length, list(group), Counter(group)))
    return [(cut, members) for cut, members, _ in levels]


def bucket_columns(levels: list[tuple[int, list[str]]], bound: int = BUCKET_BOUND) -> dict[str, list[Any]]:
    """:func:`lookup_levels` as the columns of one table: a row per level ``lvl`` and start ``p`` (the
    first ``l`` characters), its texts in ``m0`` .. ``m<bound-1>`` (NULL past the last)."""
    rows: dict[tuple[int, str], list[str]] = defaultdict(list)
    for level, (cut, members) in enumerate(levels):
        for text in sorted(members):
            rows[(level, text[:cut])].append(text)
    columns: dict[str, list[Any]] = {"lvl": [level for level, _ in rows], "p": [start for _, start in rows]}
    for slot in range(bound):
        columns[f"m{slot}"] = [texts[slot] if slot < len(texts) else None for texts in rows.values()]
    return columns


def _level_joins(table: str, levels: list[tuple[int, list[str]]], lookup: str) -> list[tuple[str, str]]:
    """(alias, LEFT JOIN) of each level of ``table`` on the first ``l`` characters of ``lookup`` (a key
    column; a row whose ``lookup`` is NULL is not looked up)."""
    return [
        (
            f"{table}{level}",
            f"LEFT JOIN (SELECT * FROM {table} WHERE lvl = {level}) AS {table}{level} "
            f"ON {table}{level}.p = left({lookup}, {cut})",
        )
        for level, (cut, _) in enumerate(levels)
    ]


def matched_sql(rows: str, tables: ReferenceTables) -> str:
    """Each row of ``rows`` (a ``key`` column) with ``ref_len``, the length in characters of the
    reference that protects its key (NULL when none does), and ``non_folder``: protected by a match that
    stops mid-name, where ``ReferenceSet.match`` says NON_FOLDER.

    Reads the tables of ``inventory_mark.load_refs``: ``refs`` and ``ext``, both :func:`bucket_columns`.
    One LEFT JOIN per level (its start is unique within the level, so no row is repeated), then
    ``starts_with`` against the bucket's texts: of the prefix-free references at most one matches.

    A mid-name match (``v1`` keeps ``v10/x``) is a folder match after all when a longer reference stops
    at a folder boundary of the key (``v10``): that is looked up among :func:`mid_name_extensions` the
    same way, for the rows matched mid-name only (few; the others' lookup key is NULL)."""
    if "" in tables.refs:  # a reference to the bucket itself
        return f"SELECT *, 0 AS ref_len, FALSE AS non_folder FROM ({rows})"
    slots = range(tables.bound)
    refs = _level_joins("refs", tables.ref_levels, "o.key")
    ext = _level_joins("ext", tables.ext_levels, "CASE WHEN m.mid_name THEN m.key END")
    found = [
        "CASE "
        + " ".join(f"WHEN starts_with(o.key, {alias}.m{slot}) THEN length({alias}.m{slot})" for slot in slots)
        + " END"
        for alias, _ in refs
    ]
    folders = [
        f"(starts_with(m.key, {alias}.m{slot}) AND substr(m.key, length({alias}.m{slot}) + 1, 1) IN ('', '/'))"
        for alias, _ in ext
        for slot in slots
    ]
    ref_len = f"coalesce({', '.join(found)})" if found else "CAST(NULL AS INTEGER)"
    at_longer_folder = " OR ".join(folders) or "FALSE"
    matched = f"SELECT o.*, {ref_len} AS ref_len FROM ({rows}) AS o {' '.join(join for _, join in refs)}"
    return f"""
        SELECT m.* EXCLUDE (mid_name), coalesce(m.mid_name AND NOT coalesce({at_longer_folder}, FALSE), FALSE)
            AS non_folder
        FROM (
            SELECT *, ref_len > 0 AND substr(key, ref_len + 1, 1) NOT IN ('', '/') AS mid_name FROM ({matched})
        ) AS m {" ".join(join for _, join in ext)}
    """


@dataclass(frozen=True)
class ReferenceTables:
    """The two tables the mark's SQL reads, as plain lists: built once from a ``ReferenceSet`` and
    small enough to ship to every worker that decides rows (DuckDB threads or Spark executors)."""

    refs: list[str]  # the sorted prefix-free references (table refs)
    extensions: list[str]  # :func:`mid_name_extensions` (table ext)
    bound: int = BUCKET_BOUND

    @classmethod
    def of(cls, refs: ReferenceSet, bound: int = BUCKET_BOUND) -> ReferenceTables:
        return cls(list(refs.prefixes), mid_name_extensions(refs), bound)

    # computed once: the SQL's joins and the tables it reads must come from the same levels
    @functools.cached_property
    def ref_levels(self) -> list[tuple[int, list[str]]]:
        return lookup_levels([ref for ref in self.refs if ref], self.bound)

    @functools.cached_property
    def ext_levels(self) -> list[tuple[int, list[str]]]:
        return lookup_levels(self.extensions, self.bound)


def mid_name_extensions(refs: ReferenceSet) -> list[str]:
    """The reference keys E that continue a prefix-free reference R mid-name (``v10`` continues ``v1``),
    sorted; an E below another one's folder (``v10/x`` below ``v10``) is left out.

    The prefix-free set keeps only R, so a key R protects mid-name (``v10/x``) may still stop at a folder
    boundary of such a longer reference: ``ReferenceSet.match`` looks for one among the key's folder
    ancestors, and SQL looks the same up in these. A key at a folder boundary of ``v10/x`` is at one of
    ``v10`` as well, so the shortest suffice: fewer lengths to look up."""
    prefixes = refs.prefixes
    found: list[str] = []
    kept: set[str] = set()
    for key in sorted(refs.all_keys):
        ref = prefixes[bisect_right(prefixes, key) - 1]  # the one reference that is a prefix of key
        if not ref or len(key) == len(ref) or key[len(ref)] == "/":
            continue
        folders = (key[:slash] for slash, c in enumerate(key) if c == "/" and slash > len(ref))
        if not any(folder in kept for folder in folders):  # a folder ancestor sorts first
            kept.add(key)
            found.append(key)
    return found


def inventory_expressions(file_format: str, columns: tuple[str, ...]) -> dict[str, str]:
    """SQL over an inventory's raw columns (as its manifest names them) for what the mark and the report
    read: ``key`` (CSV keys are URL-encoded, form style: '+' is a space, '%2B' a plus), ``latest``,
    ``marker`` and ``storage_class``, whichever of them the inventory holds."""
    csv = file_format == "CSV"
    truth = "lower({}) = 'true'" if csv else "{}"
    return {
        "key": "url_decode(replace(key, '+', '%20'))" if csv else "key",
        "latest": truth.format("is_latest") if "is_latest" in columns else "TRUE",
        "marker": f"coalesce({truth.format('is_delete_marker')}, FALSE)"
        if "is_delete_marker" in columns
        else "FALSE",
        "storage_class": "coalesce(nullif(storage_class, ''), 'STANDARD')"
        if "storage_class" in columns
        else "'STANDARD'",
    }


def current_objects_sql(raw: str, file_format: str, columns: tuple[str, ...], versioned: bool) -> str:
    """The raw inventory rows of ``raw`` as OBJECT_SCHEMA rows of current objects (no delete markers, no
    noncurrent versions). Inventory ETags carry no quotes; the plan spells them as ListObjects does."""
    found = inventory_expressions(file_format, columns)
    if "version_id" in columns and versioned:
        version = "coalesce(nullif(version_id, ''), 'null')"  # S3 lists the null version as "null"
    else:
        version = "CAST(NULL AS VARCHAR)"
    current = f"{found['latest']} AND NOT {found['marker']}" if "is_latest" in columns else "TRUE"
    return f"""
        SELECT {found["key"]} AS key, CAST(size AS BIGINT) AS size,
            CAST(last_modified_date AS TIMESTAMPTZ) AS last_modified,
            '"' || e_tag || '"' AS etag, {found["storage_class"]} AS storage_class,
            {version} AS current_version_id
        FROM ({raw}) WHERE {current}
    """


def decision_sql(
    source: str, tables: ReferenceTables, prefixes: tuple[str, ...], keep_globs: tuple[str, ...]
) -> str:
    """One row per in-scope object of ``source`` (OBJECT_SCHEMA columns) with its scope ``prefix``, a
    ``decision`` in :func:`mark`'s order (1 protected, 2 too young, 3 kept by a glob, 0 candidate) and
    ``non_folder`` (:func:`matched_sql`). Needs the tables of ``inventory_mark.load_refs``; the cutoff
    is parameter ``$cutoff``."""
    scope = " ".join(
        f"WHEN starts_with(key, {sql_literal(p, 'scope prefix')}) THEN {sql_literal(p, 'scope prefix')}"
        for p in prefixes
    )
    keep = " OR ".join(
        f"regexp_full_match(key, {sql_literal(glob_to_re2(g), 'keep glob')})" for g in keep_globs
    )
    return f"""
        WITH scoped AS (
            SELECT *, CASE {scope} END AS prefix FROM ({source})
        ), judged AS (
            {matched_sql("SELECT * FROM scoped WHERE prefix IS NOT NULL", tables)}
        )
        SELECT key, size, last_modified, etag, storage_class, current_version_id, prefix,
            CASE
                WHEN ref_len IS NOT NULL THEN 1
                WHEN last_modified >= $cutoff THEN 2
                WHEN {keep or "FALSE"} THEN 3
                ELSE 0
            END AS decision,
            non_folder
        FROM judged
    """


def kept_sql(decided: str) -> str:
    """Of each of :func:`decision_sql`'s rows, what the passes after the decision read: the counters'
    columns of every row (decision, size, non_folder); the plan's columns, prefix and storage class of
    candidates only (NULL for the rest, which no counter reads by prefix or class: a smaller scratch file).
    The columns come in the order of ``inventory_mark.DECIDED_COLUMNS``."""
    return f"""
        SELECT decision,
            CASE WHEN decision = 0 THEN prefix END AS prefix,
            CASE WHEN decision = 0 THEN storage_class END AS storage_class,
            size, non_folder,
            CASE WHEN decision = 0 THEN key END AS key,
            CASE WHEN decision = 0 THEN last_modified END AS last_modified,
            CASE WHEN decision = 0 THEN etag END AS etag,
            CASE WHEN decision = 0 THEN current_version_id END AS current_version_id
        FROM ({decided})
    """


def counts_sql(decided: str, largest: int) -> str:
    """One aggregate over :func:`kept_sql`'s rows: what :class:`MarkStats` counts, by decision, and for
    candidates by scope prefix and storage class too (rows: decision, prefix, storage_class, objects,
    bytes, non_folder, and the ``largest`` biggest candidates as {size, key} structs)."""
    return f"""
        SELECT decision, prefix, storage_class, count(*) AS objects, coalesce(sum(size), 0) AS bytes,
            count(*) FILTER (WHERE non_folder) AS non_folder,
            max_by({{'size': size, 'key': key}}, size, {int(largest)}) FILTER (WHERE decision = 0) AS largest
        FROM ({decided}) GROUP BY decision, prefix, storage_class
    """


def add_counts(rows: list[tuple[Any, ...]], stats: MarkStats) -> None:
    """Add :func:`counts_sql`'s rows to ``stats``."""
    for decision, prefix, storage_class, objects, size, non_folder, largest in rows:
        stats.objects += objects
        stats.bytes += size
        if decision == 1:
            stats.protected += objects
            stats.protected_bytes += size
            stats.protected_non_folder += non_folder
        elif decision == 2:
            stats.too_young += objects
        elif decision == 3:
            stats.kept_by_glob += objects
        else:
            stats.candidates += objects
            stats.candidate_bytes += size
            stats.by_prefix_class[(prefix, storage_class)] += objects
            stats.bytes_by_prefix_class[(prefix, storage_class)] += size
            note_largest(stats, [(item["size"], item["key"]) for item in largest or ()])


def note_largest(stats: MarkStats, sized_keys: list[tuple[int, str]]) -> None:
    """The largest candidates (``(size, key)`` pairs from a top-k query) into ``stats``."""
    for size, key in sized_keys:
        if len(stats.largest) < stats.largest_limit:
            heapq.heappush(stats.largest, (size, key))
        elif size > stats.largest[0][0]:
            heapq.heapreplace(stats.largest, (size, key))
