"""The HTML report as a person sees it: round ticks, legends inside the picture, charts that do not mix
quantities. The pure checks run everywhere; the headless-browser check renders the page in Chromium
(installed by .ci/run) and measures every text box against its SVG."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from artifact_gc.render.charts import line_chart, nice_ticks, stacked_bars
from artifact_gc.render.run_summary import human_bytes
from artifact_gc.render.storage_report import money, render_html
from artifact_gc.report.build import lifecycle_from_document, load_prices, run_report

from conftest import BUCKET, World

LONG_NAMES = {
    "a: today's lifecycle, no GC": [3.0, 3.1, 3.2],
    "b: proposed lifecycle rules": [2.0, 2.1, 2.2],
    "c: proposed rules and the GC plan": [1.5, 1.6, 1.7],
    "d: the GC plan alone, deleted now": [1.0, 1.1, 1.2],
}


@given(st.floats(min_value=1e-6, max_value=1e15, allow_nan=False))
def test_ticks_are_round_and_cover_the_peak(peak: float) -> None:
    ticks = nice_ticks(peak)
    step = ticks[1]
    mantissa = step / 10 ** round(__import__("math").floor(__import__("math").log10(step)))
    assert round(mantissa, 6) in (1, 2, 2.5, 5, 10)
    assert ticks[0] == 0 and ticks[-1] >= peak * (1 - 1e-9) and len(ticks) <= 6


def test_byte_ticks_are_round_in_binary_units() -> None:
    ticks = nice_ticks(852.5 * 1024, base=1024)
    assert [human_bytes(t) for t in ticks] == ["0 B", "250.0 KiB", "500.0 KiB", "750.0 KiB", "1000.0 KiB"]
    assert [money(t) for t in nice_ticks(0.00073)] == ["$0", "$0.00020", "$0.00040", "$0.00060", "$0.00080"]


def text_boxes(svg: str) -> tuple[float, list[tuple[float, str]]]:
    """The viewBox width and each text's x with its content (an estimate; the browser test measures)."""
    width = float(re.search(r'viewBox="0 0 (\d+)', svg)[1])
    found = re.findall(r'<text x="([\d.]+)"[^>]*>([^<]*)</text>', svg)
    return width, [(float(x), html.unescape(text)) for x, text in found]


def test_legends_wrap_inside_the_picture() -> None:
    for svg in (
        line_chart("Projected monthly cost", ["M1", "M2", "M3"], LONG_NAMES, money),
        stacked_bars("Bytes", ["models/", "checkpoints/"], {k: v[:2] for k, v in LONG_NAMES.items()}, money),
    ):
        width, texts = text_boxes(svg)
        legend = [(x, t) for x, t in texts if t in LONG_NAMES]
        assert len(legend) == 4
        assert all(x + 7.2 * len(t) <= width for x, t in legend), legend


def sample_report(world: World) -> tuple[dict, list[dict]]:
    """A report of a bucket with long prefix names and every storage class, and five past runs."""
    for index, cls in enumerate(["STANDARD", "STANDARD_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"]):
        world.put(
            f"experiments/a-rather-long-team-name-{index}/run/w.bin", body=b"x" * 200_000, storage_class=cls
        )
        world.put(f"checkpoints/run-{index}/shard.pt", body=b"y" * 150_000, storage_class=cls)
    rules = {
        "Rules": [{"ID": "housekeeping", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 400}}]
    }
    report = run_report(
        world.clients(),
        BUCKET,
        ("",),
        2,
        load_prices("us-east-1"),
        world.now,
        lifecycle_from_document(rules, "t"),
    )
    history = [
        {"time": f"2026-11-{d:02d}T06:00:00Z", "monthly_cost": 0.00073 * d, "bytes": 852.5 * 1024 * d,
         "savings_12m": {"b": 0.001 * d, "c": 0.002 * d}, "bucket": report["bucket"]}
        for d in range(1, 6)
    ]  # fmt: skip
    return report, history


MEASURE = """
<script>
window.addEventListener('load', () => {
  const problems = [];
  document.querySelectorAll('svg').forEach((svg, i) => {
    const view = svg.viewBox.baseVal;
    svg.querySelectorAll('text').forEach(t => {
      const b = t.getBBox();
      if (b.x < view.x - 1 || b.y < view.y - 1 || b.x + b.width > view.x + view.width + 1 ||
          b.y + b.height > view.y + view.height + 1) {
        problems.push(`svg ${i}: "${t.textContent}" at ${b.x.toFixed(0)},${b.y.toFixed(0)} size ${b.width.toFixed(0)}x${b.height.toFixed(0)} outside ${view.width}x${view.height}`);
      }
    });
  });
  document.body.setAttribute('data-overflow', JSON.stringify(problems));
  document.body.setAttribute('data-charts', String(document.querySelectorAll('svg').length));
});
</script>
"""


def test_every_label_fits_its_chart_in_a_browser(world: World, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs it with apt")
        pytest.skip("chromium is not installed here (CI installs it)")
    report, history = sample_report(world)
    page = tmp_path / "report.html"
    page.write_text(render_html(report, history).replace("</body>", MEASURE + "</body>"))
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    charts = re.search(r'data-charts="(\d+)"', done.stdout)
    overflow = re.search(r"data-overflow=\"([^\"]*)\"", done.stdout)
    assert charts and int(charts[1]) >= 5, done.stdout[-2000:]
    problems = json.loads(overflow[1].replace("&quot;", '"'))
    assert problems == [], problems
