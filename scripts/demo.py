"""make demo: start the embedded local stack, seed an ML bucket, and run `artifact-gc plan` on it.

With --apply it goes on to `artifact-gc apply --yes` and shows the audit log. The GC runs as a separate
process, exactly as a user would run it, pointed at the emulator through AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from artifact_gc.collect.planfile import iter_candidates, read_header
from artifact_gc.local_stack import gc_config_outputs, local_stack, seed_demo
from artifact_gc.terraform.lifecycle_preview import evaluate_lifecycle

WORKDIR = Path(".demo")
LIFECYCLE_PREVIEW = Path("terraform/lifecycle-preview")
DEV_TFVARS = Path("terraform/envs/dev.tfvars")


def run_gc(args: list[str], env: dict[str, str]) -> int:
    command = [sys.executable, "-m", "artifact_gc", *args]
    print(f"\n$ artifact-gc {' '.join(args)}", flush=True)
    return subprocess.run(command, env=env, check=False).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apply", action="store_true", help="also apply the plan and show the audit log")
    args = parser.parse_args()
    if WORKDIR.exists():
        shutil.rmtree(WORKDIR)
    WORKDIR.mkdir()
    outputs = WORKDIR / "tf-outputs.json"
    plan = WORKDIR / "plan.jsonl"
    audit = WORKDIR / "audit.jsonl"
    history = WORKDIR / "report-history.jsonl"
    html = WORKDIR / "report.html"

    with local_stack() as stack:
        print(f"Local S3 + DynamoDB emulator (moto) on {stack.endpoint_url}")
        layout = seed_demo(stack, scale=64)  # shards and weights of a few MB
        print(
            f"Seeded s3://{layout.bucket}: {len(layout.objects)} objects, registry table {layout.table} "
            f"with {len(layout.registry_rows)} rows"
        )
        # The bucket's lifecycle rules: modules/lifecycle-policy evaluated with the dev tfvars, not a copy.
        lifecycle = evaluate_lifecycle(LIFECYCLE_PREVIEW, DEV_TFVARS)
        stack.client("s3").put_bucket_lifecycle_configuration(
            Bucket=layout.bucket,
            LifecycleConfiguration=lifecycle.configuration,
            TransitionDefaultMinimumObjectSize=lifecycle.transition_default_minimum_object_size,
        )
        rule_ids = ", ".join(rule["ID"] for rule in lifecycle.configuration["Rules"])
        print(
            f"Applied {len(lifecycle.configuration['Rules'])} lifecycle rules from modules/lifecycle-policy "
            f"with {DEV_TFVARS}: {rule_ids}"
        )
        outputs.write_text(json.dumps(gc_config_outputs(layout.bucket, layout.table), indent=2))
        print(f"Wrote {outputs} (the shape of `terraform output -json` with gc_config)")
        env = {**os.environ, **stack.env}
        # Most of a demo bucket is garbage by design; a real first run would stop at the default 0.5.
        code = run_gc(
            ["plan", "--tf-outputs", str(outputs), "--out", str(plan), "--max-delete-fraction", "0.9"], env
        )
        if code != 0:
            return code
        candidates = {c.obj.key for c in iter_candidates(plan)}
        wrongly = sorted(candidates & layout.referenced_keys)
        if wrongly:
            print(f"BUG: referenced objects among the candidates: {wrongly}", file=sys.stderr)
            return 1
        header = read_header(plan)
        print(
            f"\nCheck: {len(candidates)} candidates, none of the {len(layout.referenced_keys)} referenced objects "
            f"among them (registry fingerprint {header['registry']['fingerprint'][:19]}...)."
        )
        # The storage and cost report: (b) the dev rules on the bucket, (c) prod's tiers proposed,
        # (d) prod's tiers plus this plan's deletions.
        report = [
            "report",
            "--tf-outputs",
            str(outputs),
            "--proposed-tfvars",
            "terraform/envs/prod.tfvars",
            "--plan",
            str(plan),
            "--history",
            str(history),
        ]
        code = run_gc([*report, "--no-history"], env) or run_gc(
            [*report, "--format", "html", "--out", str(html)], env
        )
        if code != 0:
            return code
        if not args.apply:
            print(
                f"\nOpen {html} for the charts. Run `make demo APPLY=1` to apply the plan on the local stack."
            )
            return 0
        code = run_gc(
            ["apply", str(plan), "--yes", "--audit", str(audit), "--max-delete-fraction", "0.9"], env
        )
        records = [json.loads(line) for line in audit.read_text().splitlines() if line.strip()]
        markers = sum(1 for r in records if r.get("delete_marker_version_id"))
        freed = sum(int(r.get("size") or 0) for r in records)
        print(
            f"\nAudit log {audit}: {len(records)} deletions, {freed:,} bytes; {markers} of them left a delete "
            "marker (`artifact-gc restore` undoes them). Largest:"
        )
        for record in sorted(records, key=lambda r: -int(r.get("size") or 0))[:5]:
            print(f"  {record['key']}  {int(record.get('size') or 0):,} B  {record.get('storage_class')}")
        if markers:
            print(
                "  The bucket is versioned: the deleted data stays as noncurrent versions, so the bytes (and the "
                "trend) only drop once the lifecycle's NoncurrentVersionExpiration removes them."
            )
        if code == 0:  # a second report run: the terminal summary, and the HTML trend before and after
            report_after = [
                "report",
                "--tf-outputs",
                str(outputs),
                "--proposed-tfvars",
                "terraform/envs/prod.tfvars",
                "--history",
                str(history),
            ]
            code = run_gc([*report_after, "--no-history"], env) or run_gc(
                [*report_after, "--format", "html", "--out", str(html)], env
            )
            print(f"\nOpen {html} for the charts, with the trend before and after the GC.")
        return code


if __name__ == "__main__":
    sys.exit(main())
