"""Render plan and apply results for people (rich) and machines (JSON). No decisions here."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from artifact_gc.collect.apply import ApplyResult, PreparedApply
from artifact_gc.collect.planner import PlanResult


def escape_key(key: str) -> str:
    """A key as a terminal can show it: control characters escaped (\\n, \\x1b), rich markup inert."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in key)
    return escape(shown)


def human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PiB"


def apply_question(prepared: PreparedApply, mode: str, purge_versions: bool, tag: tuple[str, str]) -> str:
    """What apply is about to do, in words that match it (tagging is not deleting; permanent is said)."""
    what = f"{prepared.to_delete:,} objects ({human_bytes(prepared.to_delete_bytes)}) in s3://{prepared.header['bucket']}"
    if mode == "quarantine":
        return f"Tag {what} with {tag[0]}={tag[1]} for the bucket's quarantine lifecycle rule (nothing is deleted now)?"
    if not prepared.versioned:
        return f"Permanently delete {what}? The bucket is not versioned: this cannot be undone."
    if purge_versions:
        return f"Permanently delete every version of {what}? This cannot be undone."
    if prepared.permanent_null_versions:
        return (
            f"Add a delete marker to {what}? Versioning is suspended: for {prepared.permanent_null_versions:,} of "
            'them the marker replaces their only ("null") version, so those deletions are permanent; the others '
            "stay recoverable with `artifact-gc restore`."
        )
    return f"Add a delete marker to {what}? Recoverable with `artifact-gc restore`."


def plan_summary(result: PlanResult, plan_path: str) -> dict[str, Any]:
    stats = result.stats
    header = result.header
    by_prefix_class = [
        {
            "prefix": prefix,
            "storage_class": storage_class,
            "count": count,
            "bytes": stats.bytes_by_prefix_class[(prefix, storage_class)],
        }
        for (prefix, storage_class), count in sorted(stats.by_prefix_class.items())
    ]
    return {
        "plan": plan_path,
        "bucket": header["bucket"],
        "versioning": header["versioning"],
        "scope": header["scope"],
        "registry": {k: v for k, v in header["registry"].items() if k != "sources"}
        | {
            "sources": [
                s.get("table") or s.get("location") or s.get("url") or s.get("type")
                for s in header["registry"]["sources"]
            ]
        },
        "totals": header["totals"],
        "candidates_by_prefix_and_class": by_prefix_class,
        "largest_candidates": [{"key": key, "size": size} for size, key in stats.largest_candidates()],
        "warnings": result.warnings,
        "refused": result.refused,
    }


def print_plan(console: Console, summary: dict[str, Any]) -> None:
    totals = summary["totals"]
    registry = summary["registry"]
    console.print(
        f"[bold]Plan[/bold] {summary['plan']}  bucket [cyan]{summary['bucket']}[/cyan] "
        f"(versioning {summary['versioning']}), scope {summary['scope']['prefixes']}, "
        f"min age {summary['scope']['min_age_days']} d"
    )
    console.print(f"Scanned {totals['objects']:,} objects, {human_bytes(totals['bytes'])}.")
    refs = Table(title="References", title_justify="left")
    refs.add_column("source")
    refs.add_column("references", justify="right")
    refs.add_column("fingerprint")
    own = registry.get("source_counts") or {}
    for source, count in registry["references_by_source"].items():
        refs.add_row(escape(source), f"{count:,}", str((own.get(source) or {}).get("fingerprint", ""))[:19])
    refs.add_row("[dim]distinct, into this bucket[/dim]", f"{registry['references']:,}")
    for bucket, count in registry["other_buckets"].items():
        refs.add_row(f"[yellow]other bucket {bucket} (not applied)[/yellow]", f"{count:,}")
    console.print(refs)
    kept = Table(title="Decisions", title_justify="left")
    kept.add_column("decision")
    kept.add_column("objects", justify="right")
    kept.add_row("protected by the registry", f"{totals['protected']:,}")
    kept.add_row("  of which only by a mid-name match", f"{totals['protected_non_folder']:,}")
    kept.add_row("younger than the minimum age", f"{totals['too_young']:,}")
    kept.add_row("kept by --keep", f"{totals['kept_by_glob']:,}")
    kept.add_row(
        "[bold]candidates[/bold]",
        f"[bold]{totals['candidates']:,}[/bold] ({human_bytes(totals['candidate_bytes'])})",
    )
    console.print(kept)
    if summary["candidates_by_prefix_and_class"]:
        by = Table(title="Candidates by prefix and storage class", title_justify="left")
        for column in ("prefix", "storage class", "objects", "size"):
            by.add_column(column, justify="right" if column in ("objects", "size") else "left")
        for row in summary["candidates_by_prefix_and_class"]:
            by.add_row(
                row["prefix"] or "(whole bucket)",
                row["storage_class"],
                f"{row['count']:,}",
                human_bytes(row["bytes"]),
            )
        console.print(by)
    if summary["largest_candidates"]:
        largest = Table(title="Largest candidates", title_justify="left")
        largest.add_column("key")
        largest.add_column("size", justify="right")
        for row in summary["largest_candidates"]:
            largest.add_row(escape_key(row["key"]), human_bytes(row["size"]))
        console.print(largest)
    for warning in summary["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    if summary.get("refused"):
        console.print(
            f"Dry run: nothing was modified. [red]Refused:[/red] {escape(summary['refused'])}. The plan is written "
            f"for review only (apply refuses it too): inspect [bold]{escape(summary['plan'])}[/bold] or "
            "`artifact-gc report --plan` it, then fix the registry or scope, or raise the limit, and plan again.",
            highlight=False,
        )
        return
    console.print(
        f"Dry run: nothing was modified. Apply with: [bold]artifact-gc apply {escape(summary['plan'])}[/bold]"
    )


def apply_summary(prepared: PreparedApply, result: ApplyResult, audit_path: str) -> dict[str, Any]:
    return {
        "bucket": prepared.header["bucket"],
        "versioning": prepared.header["versioning"],
        "planned": prepared.header["totals"]["candidates"],
        "deleted": result.deleted,
        "deleted_bytes": result.deleted_bytes,
        "delete_markers": result.delete_markers,
        "versions_deleted": result.versions_deleted,
        "newly_protected": result.newly_protected,
        "changed_since_plan": result.changed,
        "already_gone": result.gone,
        "resumed": result.resumed,
        "recovered": result.recovered,
        "failed": [{"key": key, "reason": reason} for key, reason in result.failed],
        "audit_log": audit_path,
        "mode": "quarantine" if result.quarantined else "delete",
        "quarantined": result.quarantined,
    }


def print_apply(console: Console, summary: dict[str, Any]) -> None:
    if (
        summary["resumed"]
        and summary["resumed"] == summary["planned"] - len(summary["newly_protected"])
        and not (summary["deleted"] or summary["quarantined"] or summary["recovered"])
    ):
        console.print(
            f"This plan was already applied: its audit log {summary['audit_log']} records all "
            f"{summary['resumed']:,} candidates; nothing was done again."
        )
        return
    if summary["mode"] == "quarantine":
        console.print(
            f"Tagged {summary['quarantined']:,} objects in [cyan]{summary['bucket']}[/cyan] for the quarantine rule "
            f"(nothing deleted); audit log: {summary['audit_log']}"
        )
    else:
        console.print(
            f"Deleted {summary['deleted']:,} objects ({human_bytes(summary['deleted_bytes'])}) "
            f"from [cyan]{summary['bucket']}[/cyan]; audit log: {summary['audit_log']}"
        )
    if summary["delete_markers"]:
        console.print(f"  {summary['delete_markers']:,} delete markers added (recoverable)")
    if summary["resumed"]:
        console.print(
            f"  resumed: {summary['resumed']:,} candidates were already deleted by an interrupted run of this plan"
            + (f" ({len(summary['recovered']):,} of them audited now)" if summary["recovered"] else "")
        )
    if summary["versions_deleted"]:
        console.print(f"  {summary['versions_deleted']:,} versions permanently deleted")
    for label, keys in (
        ("newly referenced in the registry, kept", summary["newly_protected"]),
        ("changed since the plan, kept", summary["changed_since_plan"]),
        ("already gone", summary["already_gone"]),
    ):
        if keys:
            shown = ", ".join(escape_key(k) for k in keys[:5]) + (
                f", ... ({len(keys) - 5} more)" if len(keys) > 5 else ""
            )
            console.print(f"  {len(keys):,} {label}: {shown}")
    for failure in summary["failed"][:20]:
        console.print(f"  [red]failed[/red] {escape_key(failure['key'])}: {escape(failure['reason'])}")
    if len(summary["failed"]) > 20:
        console.print(f"  [red]... and {len(summary['failed']) - 20} more failures[/red]")
