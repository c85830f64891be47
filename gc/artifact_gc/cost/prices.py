"""S3 storage prices and the cost of holding objects: pure maths over a price table.

Billing facts modelled: per-class GB-month prices (GB = 2**30 bytes); a 128 KB minimum billable size in
Standard-IA, One Zone-IA and Glacier IR; 40 KB of overhead per archived object (32 KB at the archive rate,
8 KB at Standard) in Glacier Flexible Retrieval and Deep Archive; minimum storage durations, charged in
full when an object leaves its class early; and a request charge per lifecycle transition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from artifact_gc.errors import UsageError

DAYS_PER_MONTH = 30


@dataclass(frozen=True)
class Prices:
    """The prices of one region, with where they came from."""

    region: str
    storage_gb_month: dict[str, float]
    transition_per_1000: dict[str, float]
    minimum_storage_days: dict[str, int]
    minimum_billable_bytes: dict[str, int]
    archive_overhead_bytes: dict[str, dict[str, int]]
    gb_bytes: int
    source: str
    as_of: str
    assumed_region: bool = False  # True when the region was missing and us-east-1 stood in

    def storage_rate(self, storage_class: str) -> float:
        """$ per GB-month; unknown classes are priced as STANDARD (and say so in the report's assumptions)."""
        return self.storage_gb_month.get(storage_class, self.storage_gb_month["STANDARD"])

    def billable_bytes(
        self, size: int, storage_class: str, count: int = 1, small: bool | None = None
    ) -> dict[str, int]:
        """Bytes billed per class for ``count`` objects of ``size`` bytes in all.

        ``small`` says that every one of them is under the class's minimum billable size (each is then
        billed at the minimum); for a single object it is worked out from ``size``.
        """
        minimum = self.minimum_billable_bytes.get(storage_class, 0)
        if small is None:
            small = count == 1 and size < minimum
        billed = {storage_class: max(size, count * minimum) if small else size}
        overhead = self.archive_overhead_bytes.get(storage_class)
        if overhead:
            billed[storage_class] += count * overhead["class"]
            billed["STANDARD"] = billed.get("STANDARD", 0) + count * overhead["STANDARD"]
        return billed

    def cost_of(self, size: int, storage_class: str, count: int = 1, small: bool | None = None) -> float:
        """Storage cost per month of ``count`` objects holding ``size`` bytes in all (see billable_bytes)."""
        billed = self.billable_bytes(size, storage_class, count, small)
        return sum(self.storage_rate(cls) * b / self.gb_bytes for cls, b in billed.items())

    def monthly_cost(self, size: int, storage_class: str, count: int = 1) -> float:
        """Storage cost per month of ``count`` objects of ``size`` bytes each."""
        return count * self.cost_of(size, storage_class)

    def transition_cost(self, storage_class: str, count: int) -> float:
        return count * self.transition_per_1000.get(storage_class, 0.0) / 1000

    def early_deletion_cost(
        self, size: int, storage_class: str, days_in_class: float, count: int = 1, small: bool | None = None
    ) -> float:
        """What leaving ``storage_class`` after ``days_in_class`` days costs for the unserved minimum,
        for ``count`` objects holding ``size`` bytes in all."""
        missing = self.minimum_storage_days.get(storage_class, 0) - days_in_class
        if missing <= 0:
            return 0.0
        return self.cost_of(size, storage_class, count, small) * missing / DAYS_PER_MONTH


def parse_prices(text: str, region: str, origin: str) -> Prices:
    """A price table's JSON text (the packaged one, or ``--prices FILE`` of the same shape)."""
    try:
        table: dict[str, Any] = json.loads(text)
        regions = table["regions"]
        assumed = region not in regions
        chosen = regions.get(region) or regions["us-east-1"]
        return Prices(
            region=region,
            storage_gb_month={k: float(v) for k, v in chosen["storage_gb_month"].items()},
            transition_per_1000={k: float(v) for k, v in chosen.get("transition_per_1000", {}).items()},
            minimum_storage_days={k: int(v) for k, v in table.get("minimum_storage_days", {}).items()},
            minimum_billable_bytes={k: int(v) for k, v in table.get("minimum_billable_bytes", {}).items()},
            archive_overhead_bytes=table.get("archive_overhead_bytes", {}),
            gb_bytes=int(table.get("gb_bytes", 2**30)),
            source=str(table.get("source", origin)),
            as_of=str(table.get("as_of", "?")),
            assumed_region=assumed,
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise UsageError(
            f"{origin}: not a price table ({type(exc).__name__}: {exc}); expected regions.<region>.storage_gb_month "
            "with a STANDARD price, and us-east-1 as the fallback region"
        ) from exc
