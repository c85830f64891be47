"""Project 12 months of storage cost for a real object population under different lifecycle configurations.

Pure. Objects are grouped into cohorts (same schedule, class, age, small or not) so that millions of objects
cost a few thousand cohorts. Each month, lifecycle events that have fallen due are applied at the month's
start (S3 runs rules about once a day; the projection's resolution is a month), then the month's storage
is charged. Modelled: transitions (request charges), expirations, minimum storage durations (early-deletion
charges), the 128 KB minimum transition size, noncurrent-version expiration with NewerNoncurrentVersions,
and optional growth. Not modelled: retrievals, requests other than transitions, tag-filtered rules (tags
are not listed), Intelligent-Tiering's internal tiers. Every run states its assumptions.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from artifact_gc.cost.lifecycle import rule_prefix
from artifact_gc.cost.lifecycle_lint import TRANSITION_ORDER
from artifact_gc.cost.prices import DAYS_PER_MONTH, Prices

SMALL_BYTES = 128 * 1024
MONTHS = 12


@dataclass(frozen=True)
class Schedule:
    """What the lifecycle does to one object: transitions (day, class), expiration, noncurrent expiration."""

    transitions: tuple[tuple[int, str], ...] = ()
    expiration_days: int | None = None
    # every matching NoncurrentVersionExpiration: (NoncurrentDays, NewerNoncurrentVersions or None)
    noncurrent: tuple[tuple[int, int | None], ...] = ()

    def noncurrent_expiry(self, rank: int) -> int | None:
        """When the noncurrent version of this rank (1 = newest) expires. S3's precedence for overlapping
        rules: deletion wins over retention and the earliest expiration applies, so a rule that keeps the
        newest N versions does not stop another rule from expiring them."""
        days = [d for d, newer in self.noncurrent if newer is None or rank > newer]
        return min(days) if days else None


NO_RULES = Schedule()


def schedule_for(rules: Sequence[Mapping[str, Any]], key: str, size: int) -> Schedule:
    """Combine every enabled rule whose filter matches (prefix and size; tag filters never match here)."""
    return schedule_of(
        [rule for rule in rules if rule.get("Status") == "Enabled" and _matches(rule, key, size)]
    )


def schedule_of(matching: Iterable[Mapping[str, Any]]) -> Schedule:
    """The schedule of an object that these rules (enabled, filters matched) apply to."""
    transitions: dict[str, int] = {}
    expirations, noncurrents = [], []
    for rule in matching:
        for t in rule.get("Transitions") or []:
            cls, days = str(t.get("StorageClass")), t.get("Days")
            if isinstance(days, int):
                transitions[cls] = min(days, transitions.get(cls, days))
        days = (rule.get("Expiration") or {}).get("Days")
        if isinstance(days, int):
            expirations.append(days)
        noncurrent = rule.get("NoncurrentVersionExpiration") or {}
        if isinstance(noncurrent.get("NoncurrentDays"), int):
            noncurrents.append((noncurrent["NoncurrentDays"], noncurrent.get("NewerNoncurrentVersions")))
    return Schedule(
        transitions=tuple(sorted((d, c) for c, d in transitions.items())),
        expiration_days=min(expirations) if expirations else None,
        noncurrent=tuple(
            sorted(
                ((d, n if isinstance(n, int) else None) for d, n in noncurrents),
                key=lambda x: (x[0], x[1] or 0),
            )
        ),
    )


@dataclass(frozen=True)
class RuleFilter:
    """What a rule's filter asks of an object: its key starts with ``prefix`` and its size is strictly
    between ``above`` and ``below`` (S3's ObjectSizeGreaterThan / ObjectSizeLessThan)."""

    prefix: str
    above: int = -1
    below: int = 2**63

    def matches(self, key: str, size: int) -> bool:
        return key.startswith(self.prefix) and self.above < size < self.below


def rule_filter(rule: Mapping[str, Any]) -> RuleFilter | None:
    """A rule's filter, or None when it matches nothing here (tags are not listed, so a tag-filtered
    rule is assumed to match no object). The report's SQL reads filters from here too."""
    prefix = rule_prefix(rule)
    if prefix is not None:
        return RuleFilter(prefix)
    flt = rule.get("Filter") or {}
    conjunction = flt.get("And") or {}
    if "Tag" in flt or conjunction.get("Tags"):
        return None
    bounds = conjunction or flt
    return RuleFilter(
        str(conjunction.get("Prefix", "")),
        int(bounds.get("ObjectSizeGreaterThan", -1)),
        int(bounds.get("ObjectSizeLessThan", 2**63)),
    )


def _matches(rule: Mapping[str, Any], key: str, size: int) -> bool:
    found = rule_filter(rule)
    return found is not None and found.matches(key, size)


@dataclass(frozen=True)
class CohortKey:
    schedule: Schedule
    noncurrent: bool
    storage_class: str
    age_days: int  # since creation (current) or since becoming noncurrent
    small: bool  # under 128 KB: billed as 128 KB in IA/Glacier IR, not transitioned by default
    rank: int = 0  # noncurrent versions: 1 = newest noncurrent


@dataclass
class Population:
    """Cohorts of one scenario: CohortKey -> [count, bytes]."""

    cohorts: dict[CohortKey, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def add(self, key: CohortKey, count: int, size: int) -> None:
        slot = self.cohorts[key]
        slot[0] += count
        slot[1] += size

    @property
    def objects(self) -> int:
        return sum(c for c, _ in self.cohorts.values())

    @property
    def bytes(self) -> int:
        return sum(b for _, b in self.cohorts.values())


@dataclass(frozen=True)
class Month:
    month: int
    storage_cost: float
    transition_cost: float
    early_deletion_cost: float
    bytes_by_class: dict[str, int]

    @property
    def total(self) -> float:
        return self.storage_cost + self.transition_cost + self.early_deletion_cost


@dataclass(frozen=True)
class Projection:
    name: str
    label: str
    months: list[Month]

    @property
    def total(self) -> float:
        return sum(m.total for m in self.months)


def _colder(target: str, current: str) -> bool:
    order = {c: i for i, c in enumerate(["STANDARD", "REDUCED_REDUNDANCY", *TRANSITION_ORDER])}
    return order.get(target, -1) > order.get(current, 0)


def project(
    population: Population,
    prices: Prices,
    name: str,
    label: str,
    transition_small_objects: bool = False,
    growth_bytes_per_month: int = 0,
    months: int = MONTHS,
) -> Projection:
    """Step the population through ``months`` months; see the module docstring for what is modelled."""
    # state per cohort: (class, day it entered that class (in age days), alive)
    state = {key: (key.storage_class, _entered(key), True) for key in population.cohorts}
    cohorts = dict(population.cohorts)
    growth_share = _growth_shares(population) if growth_bytes_per_month else {}
    # new data arrives in STANDARD with today's average object size and prefix mix
    average = max(1, population.bytes // max(1, population.objects))
    result = []
    for month in range(1, months + 1):
        elapsed = DAYS_PER_MONTH * (month - 1) + 1  # events due by the first day of the month
        if growth_bytes_per_month and month > 1:
            for schedule, share in growth_share.items():
                size = int(growth_bytes_per_month * share)
                key = CohortKey(schedule, False, "STANDARD", 1 - elapsed, average < SMALL_BYTES)
                cohorts[key] = [max(1, size // average), size]
                state[key] = ("STANDARD", key.age_days, True)
        # summed exactly (math.fsum): a month's cost does not depend on the order the cohorts were met in
        transition_costs: list[float] = []
        early_costs: list[float] = []
        storage_costs: list[float] = []
        by_class: dict[str, int] = defaultdict(int)
        for key, (count, size) in cohorts.items():
            cls, entered, alive = state[key]
            if not alive or count == 0:
                continue
            age = key.age_days + elapsed  # growth cohorts are created as they arrive, aged 1 day
            schedule = key.schedule
            expire_at = schedule.noncurrent_expiry(key.rank) if key.noncurrent else schedule.expiration_days
            if not key.noncurrent and not (key.small and not transition_small_objects):
                for days, target in schedule.transitions:
                    if days <= age and _colder(target, cls) and (expire_at is None or days < expire_at):
                        early_costs.append(
                            prices.early_deletion_cost(size, cls, days - entered, count, key.small)
                        )
                        transition_costs.append(prices.transition_cost(target, count))
                        cls, entered = target, days
            if expire_at is not None and age >= expire_at:
                early_costs.append(
                    prices.early_deletion_cost(size, cls, expire_at - entered, count, key.small)
                )
                state[key] = (cls, entered, False)
                continue
            state[key] = (cls, entered, True)
            storage_costs.append(prices.cost_of(size, cls, count, key.small))
            by_class[cls] += size
        result.append(
            Month(
                month,
                math.fsum(storage_costs),
                math.fsum(transition_costs),
                math.fsum(early_costs),
                dict(by_class),
            )
        )
    return Projection(name, label, result)


def _entered(key: CohortKey) -> int:
    """Assumed day an existing object entered its current class: the schedule's transition into it, else creation."""
    if key.noncurrent:
        return -(10**6)  # noncurrent versions: assume minimum durations already served
    for days, cls in key.schedule.transitions:
        if cls == key.storage_class and days <= key.age_days:
            return days
    return 0


def _growth_shares(population: Population) -> dict[Schedule, float]:
    by_schedule: dict[Schedule, int] = defaultdict(int)
    for key, (_, size) in population.cohorts.items():
        if not key.noncurrent:
            by_schedule[key.schedule] += size
    total = sum(by_schedule.values()) or 1
    return {s: b / total for s, b in by_schedule.items()}


def build_population(
    records: Iterable[tuple[str, int, str, int, bool, int]],
    rules: Sequence[Mapping[str, Any]],
    exclude: frozenset[str] = frozenset(),
    deleted_become_noncurrent: bool = False,
) -> Population:
    """Cohorts from (key, size, class, age_days, noncurrent, rank) records under ``rules``.

    ``exclude`` are current keys the GC deletes at month 0; on a versioned bucket they stay as noncurrent
    versions until the noncurrent expiration (``deleted_become_noncurrent``).
    """
    builder = PopulationBuilder(rules, deleted_become_noncurrent)
    for record in records:
        builder.add(record, excluded=not record[4] and record[0] in exclude)
    return builder.population


class PopulationBuilder:
    """:func:`build_population` one record at a time, so a report can fill every scenario while it reads
    the bucket (memory in the number of cohorts, not of objects)."""

    def __init__(self, rules: Sequence[Mapping[str, Any]], deleted_become_noncurrent: bool = False) -> None:
        self.rules = rules
        self.deleted_become_noncurrent = deleted_become_noncurrent
        self.population = Population()

    def add(self, record: tuple[str, int, str, int, bool, int], excluded: bool = False) -> None:
        """Add one version; ``excluded``: a current version the GC deletes at month 0."""
        key, size, cls, age, noncurrent, rank = record
        schedule = schedule_for(self.rules, key, size) if self.rules else NO_RULES
        self.add_cohort(schedule, cls, age, size < SMALL_BYTES, noncurrent, rank, excluded, 1, size)

    def add_cohort(
        self,
        schedule: Schedule,
        cls: str,
        age: int,
        small: bool,
        noncurrent: bool,
        rank: int,
        excluded: bool,
        count: int,
        size: int,
    ) -> None:
        """Add ``count`` versions of ``size`` bytes in all that share one cohort (the report's SQL
        aggregates an inventory into these); ``excluded`` as in :meth:`add`."""
        if excluded:
            if self.deleted_become_noncurrent:
                self.population.add(CohortKey(schedule, True, cls, 0, small, 1), count, size)
            return
        self.population.add(
            CohortKey(schedule, noncurrent, cls, age, small, rank if noncurrent else 0), count, size
        )
