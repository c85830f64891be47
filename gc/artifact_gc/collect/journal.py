"""The write-ahead journal that makes ``apply`` resumable.

Before each DeleteObjects request the items are written as an *intent*; after their audit lines are on
disk, a *done* record follows (both fsync'ed). A run that stops anywhere — Ctrl-C, crash, lost network —
leaves at most one intent without its done: on the next run with the same plan, those items are checked
against the bucket, the ones that are gone are audited as deleted by the interrupted run, and every
candidate already audited is skipped. No batch that succeeded is sent again, and the audit log stays
complete and free of duplicates.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def plan_digest(plan_path: Path) -> str:
    """The plan's identity for the journal: its bytes (a plan folder's: each part's name and bytes)."""
    from artifact_gc.collect.parquet_plan import plan_parts

    digest = hashlib.sha256()
    parts = plan_parts(plan_path)
    for part in parts:
        if plan_path.is_dir():
            digest.update(part.name.encode() + b"\0")
        with part.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return "sha256:" + digest.hexdigest()


def _records(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line torn by a crash: its batch has no done record, so it is in doubt anyway
        if isinstance(record, dict):
            yield record


def pending_items(path: Path, plan: str) -> list[dict[str, Any]]:
    """Items of this plan's intents that have no done record: their fate is unknown."""
    intents: dict[str, list[dict[str, Any]]] = {}
    for record in _records(path):
        if record.get("plan") != plan:
            continue
        if record.get("event") == "intent":
            intents[record["batch"]] = record.get("items", [])
        elif record.get("event") == "done":
            intents.pop(record.get("batch"), None)
    return [item for items in intents.values() for item in items]


def audited(audit_path: Path, bucket: str, plan_created_at: str, action: str) -> set[str]:
    """Keys the audit log already records as done by this plan with ``action`` (delete or quarantine):
    quarantining a plan first must not make a later delete run of the same plan skip everything."""
    return {
        r["key"]
        for r in _records(audit_path)
        if r.get("bucket") == bucket
        and r.get("plan_created_at") == plan_created_at
        and "key" in r
        and r.get("action", "delete") == action
    }


class Journal:
    def __init__(self, path: Path, plan: str) -> None:
        self.path = path
        self.plan = plan
        self._handle: IO[str] = path.open("a", encoding="utf-8")

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._handle.close()

    def _write(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps({"plan": self.plan, **record}) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def intent(self, items: list[dict[str, Any]]) -> str:
        batch = uuid.uuid4().hex
        self._write({"event": "intent", "batch": batch, "items": items})
        return batch

    def done(self, batch: str) -> None:
        self._write({"event": "done", "batch": batch})
