"""The demo corpus end to end: every trend output written and documented, and report.html
rendered by headless Chromium with its charts showing."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from policytrends.trends import outputs as S
from policytrends.trends.build import TABLES
from policytrends.trends.prevalence import SEED_RATES_WARNING
from tests.helpers import documented_columns

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
# Colours used only inside the charts (trends/charts.py: the cyber and deterrence lines).
CHART_COLOURS = [(0x2E, 0x8B, 0x57), (0x8E, 0x44, 0xAD)]


@pytest.fixture(scope="module")
def demo_outputs(demo_state):
    """The demo sites crawled, segmented, classified and aggregated once, with the seed model."""
    _, outputs, summary = demo_state
    return outputs, summary


def test_demo_corpus_gets_every_table_documented(demo_outputs):
    out, summary = demo_outputs
    documented = documented_columns()
    for csv_name, parquet_name in TABLES.values():
        table = pd.read_csv(out / csv_name)
        assert (out / parquet_name).exists()
        assert documented[csv_name] == list(table.columns), csv_name
    monthly = pd.read_csv(out / S.THEME_TRENDS_MONTHLY)
    assert set(monthly["source"]) == {"caldera", "harborview", "meridian", "northgate", "ALL"}
    assert monthly["prevalence"].notna().any()  # the seed model records tpr and fpr
    evidence = pd.read_csv(out / S.THEME_EVIDENCE)
    assert len(evidence) > 100 and evidence["text"].str.len().max() <= 300
    # The seed model's error rates come from the seed split: the run says so, and nothing else.
    assert summary["warnings"] == [SEED_RATES_WARNING]


def _render(html: Path, png: Path, profile: Path) -> None:
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         f"--user-data-dir={profile}", "--window-size=1200,7000", f"--screenshot={png}", html.as_uri()],
        check=True, capture_output=True, timeout=180,
    )


def _chart_pixels(png: Path) -> list[int]:
    from PIL import Image

    image = Image.open(png).convert("RGB")
    assert image.size == (1200, 7000)
    colours = image.getcolors(maxcolors=1 << 24)
    assert len(colours) > 50, "the screenshot is blank"
    return [sum(n for n, rgb in colours if all(abs(a - b) <= 12 for a, b in zip(rgb, target, strict=True)))
            for target in CHART_COLOURS]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium is not installed at /usr/bin/chromium "
                    "(`apt-get install chromium`; .ci/run installs it)")
def test_report_opens_in_headless_chromium_and_shows_the_charts(demo_outputs, tmp_path):
    out, _ = demo_outputs
    report = out / S.TRENDS_REPORT
    html = report.read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 3

    shot = tmp_path / "report.png"
    _render(report, shot, tmp_path / "profile")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shown = _chart_pixels(shot)
    assert all(n > 300 for n in shown), shown

    # The same page without its images: the chart colours must be gone, or the check above proves nothing.
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r'src="data:image/png;base64,[^"]+"', 'src=""', html), encoding="utf-8")
    _render(bare, tmp_path / "bare.png", tmp_path / "profile2")
    assert all(n < 50 for n in _chart_pixels(tmp_path / "bare.png"))


def test_the_report_says_where_the_error_rates_come_from(demo_outputs):
    out, _ = demo_outputs
    html = (out / S.TRENDS_REPORT).read_text(encoding="utf-8")
    assert "Measured on the seed labels' held-out split" in html  # the demo model has no analyst labels
    assert "<th>labels</th>" in html and "<td>seed</td>" in html
    monthly = pd.read_csv(out / S.THEME_TRENDS_MONTHLY)
    valued = monthly[monthly["prevalence"].notna()]
    assert set(valued["error_rates_from"]) == {"seed"}
