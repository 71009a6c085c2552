"""``report.html``: one self-contained page analysts open from disk.

Inline CSS, charts embedded as base64 PNG, no script, and a Content-Security-Policy that lets
the page load nothing but its own ``data:`` images: it works with no server and no network.
Every value from the store (titles, passages, URLs) is HTML-escaped. Article URLs are shown as
text to copy, not as links, so the page itself refers to nothing outside it.
"""

from __future__ import annotations

import base64
from datetime import datetime
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from policytrends.files import write_text_atomic
from policytrends.trends.prevalence import ErrorRates, corrected_prevalence
from policytrends.trends.tables import ALL

MAX_SPIKES = 15
CHANGE_MONTHS = 12

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d232a;margin:0;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 10px;border-bottom:2px solid #e3e6ea;padding-bottom:4px}
h3{font-size:16px;margin:18px 0 6px}.meta{color:#5b6570;font-size:13px}
nav a{margin-right:14px;color:#1f5f99;text-decoration:none;font-size:14px}
table{border-collapse:collapse;width:100%;font-size:13px;margin:8px 0}
th,td{border-bottom:1px solid #e3e6ea;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.up{color:#b03a2e;font-weight:600}.down{color:#1f5f99;font-weight:600}.muted{color:#7a848e}
.spike{border:1px solid #e3e6ea;border-left:4px solid #b03a2e;border-radius:4px;padding:8px 12px;margin:12px 0}
.spike.fall{border-left-color:#1f5f99}.spike h3{margin-top:4px}
.passage{margin:6px 0 10px 0;padding-left:10px;border-left:2px solid #e3e6ea;font-size:13.5px}
.passage .src{color:#5b6570;font-size:12px}.url{font-family:ui-monospace,monospace;font-size:11.5px;color:#5b6570;word-break:break-all}
figure{margin:16px 0}figure img{max-width:100%;border:1px solid #e3e6ea}figcaption{font-size:13px;color:#5b6570}
.note{background:#fff8e1;border:1px solid #f1dfa4;padding:8px 12px;border-radius:4px;font-size:13.5px}
"""


def _pct(x, digits: int = 1) -> str:
    return "–" if x is None or pd.isna(x) else f"{100 * float(x):.{digits}f}%"


def _interval(p, lo, hi) -> str:
    if p is None or pd.isna(p):
        return '<span class="muted">–</span>'
    return f"{_pct(p)} <span class=\"muted\">({_pct(lo)}–{_pct(hi)})</span>"


def _img(path: Path, alt: str, caption: str) -> str:
    if not path.exists():
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{escape(alt)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def _pooled(rows: pd.DataFrame, rates: ErrorRates | None) -> tuple[int, float, float, float, float]:
    n, k = int(rows["passages"].sum()), int(rows["theme_passages"].sum())
    p, lo, hi = corrected_prevalence([k], [n], rates)
    return n, (k / n if n else float("nan")), float(p[0]), float(lo[0]), float(hi[0])


def latest_changes(monthly: pd.DataFrame, rates: dict[str, ErrorRates]) -> tuple[str, list[dict]]:
    """Per theme, all sources together: the last 12 complete months against the 12 before."""
    df = monthly[(monthly["source"] == ALL) & (monthly["complete"] == True)]  # noqa: E712 (nullable boolean)
    if df.empty:
        return "", []
    periods = sorted(df["period"].unique())
    recent, before = periods[-CHANGE_MONTHS:], periods[-2 * CHANGE_MONTHS : -CHANGE_MONTHS]
    window = f"{recent[0]} to {recent[-1]}"
    out = []
    for theme, rows in df.groupby("theme"):
        now = _pooled(rows[rows["period"].isin(recent)], rates.get(theme))
        then = _pooled(rows[rows["period"].isin(before)], rates.get(theme)) if before else (0, np.nan, np.nan, np.nan, np.nan)
        last = rows[rows["passages"] > 0].tail(1)
        out.append({"theme": theme, "now": now, "then": then, "last": last.iloc[0] if len(last) else None,
                    "clear": bool(now[0] and then[0] and (now[3] > then[4] or now[4] < then[3]))})
    return window, out


def _changes_html(monthly: pd.DataFrame, rates: dict[str, ErrorRates]) -> str:
    window, changes = latest_changes(monthly, rates)
    if not changes:
        return '<p class="muted">No complete month with documents yet.</p>'
    rows = []
    for c in changes:
        n_now, share_now, p_now, lo_now, hi_now = c["now"]
        n_then, _, p_then, lo_then, hi_then = c["then"]
        diff = p_now - p_then if not (pd.isna(p_now) or pd.isna(p_then)) else np.nan
        arrow = "" if pd.isna(diff) else ('<span class="up">▲</span>' if diff > 0 else '<span class="down">▼</span>')
        last = c["last"]
        last_cell = (f"{escape(str(last['period']))}: {_interval(last['prevalence'], last['prevalence_low'], last['prevalence_high'])}"
                     f" <span class=\"muted\">{int(last['passages'])} passages</span>") if last is not None else "–"
        rows.append(
            f"<tr><td>{escape(c['theme'])}</td><td class=num>{_interval(p_now, lo_now, hi_now)}<br>"
            f"<span class=muted>raw {_pct(share_now)}, {n_now} passages</span></td>"
            f"<td class=num>{_interval(p_then, lo_then, hi_then)}<br><span class=muted>{n_then} passages</span></td>"
            f"<td class=num>{arrow} {'–' if pd.isna(diff) else f'{100 * diff:+.1f} pts'}</td>"
            f"<td>{'yes' if c['clear'] else '<span class=muted>no</span>'}</td><td>{last_cell}</td></tr>")
    return (f"<p>All sources together. Corrected prevalence with its 95% interval, over the last "
            f"{CHANGE_MONTHS} complete months ({escape(window)}) and the {CHANGE_MONTHS} months before them.</p>"
            "<table><tr><th>theme</th><th>last 12 months</th><th>12 months before</th><th>change</th>"
            "<th>intervals apart?</th><th>latest complete month with documents</th></tr>" + "".join(rows) + "</table>")


def _spikes_html(spikes: pd.DataFrame, evidence: pd.DataFrame) -> str:
    if spikes.empty:
        return ('<p class="muted">No spikes: no theme\'s share moved away from its own recent history by more than the '
                "rule allows (see the data dictionary for the rule).</p>")
    shown = spikes.assign(_abs=spikes["score"].abs()).sort_values(["period", "_abs"], ascending=[False, False]).head(MAX_SPIKES)
    parts = [f"<p>{len(spikes)} spike(s) in total; the {len(shown)} most recent are shown, each with the passages that "
             "carry the theme most clearly in that period.</p>"]
    for _, s in shown.iterrows():
        word = "rise" if s["direction"] == "up" else "drop"
        parts.append(
            f'<div class="spike {"rise" if s["direction"] == "up" else "fall"}"><h3>{escape(s["theme"])}: {word} in '
            f'{escape(s["source"])}, {escape(s["granularity"])} {escape(str(s["period"]))}</h3>'
            f'<p>share {_pct(s["share"])} against a baseline of {_pct(s["baseline"])} '
            f'({100 * s["change"]:+.1f} pts, robust score {s["score"]:+.1f}) over {int(s["passages"])} passages'
            f'{"" if pd.isna(s["complete"]) or bool(s["complete"]) else "; the period is not complete yet"}.</p>')
        rows = evidence[(evidence["granularity"] == s["granularity"]) & (evidence["period"] == s["period"])
                        & (evidence["source"] == s["source"]) & (evidence["theme"] == s["theme"])] if not evidence.empty else evidence
        if len(rows):
            for _, ev in rows.iterrows():
                parts.append(_passage_html(ev))
        else:
            parts.append('<p class="muted">No tagged passage in this period (a drop to zero).</p>')
        parts.append("</div>")
    return "".join(parts)


def _passage_html(ev) -> str:
    return (f'<div class="passage"><div class="src"><b>{escape(str(ev["title"]))}</b> · {escape(str(ev["document_source"]))}'
            f' · {escape(str(ev["published"]))} · probability {float(ev["probability"]):.2f}</div>'
            f"<div>{escape(str(ev['text']))}</div><div class=url>{escape(str(ev['url']))}</div></div>")


def _coverage_html(coverage: pd.DataFrame) -> str:
    if coverage.empty:
        return '<p class="muted">The store holds no documents.</p>'
    rows = []
    for source, c in coverage[coverage["source"] != ALL].groupby("source"):
        dated = c[c["period"] != ""]
        undated = int(c.loc[c["period"] == "", "documents"].sum())
        first = c.iloc[0]
        rows.append(
            f"<tr><td>{escape(source)}</td><td class=num>{int(dated['documents'].sum())}</td><td class=num>{undated}</td>"
            f"<td class=num>{int(c['passages'].sum())}</td>"
            f"<td>{_date(first['source_first_published'])} to {_date(first['source_last_published'])}</td>"
            f"<td class=num>{int((dated['documents'] == 0).sum())}</td>"
            f"<td>{escape(str(first['first_crawled']))}</td><td>{escape(str(first['last_crawled']))}</td></tr>")
    return ("<table><tr><th>source</th><th>dated documents</th><th>undated</th><th>passages</th><th>published</th>"
            "<th>months without documents</th><th>first crawled</th><th>last crawled</th></tr>" + "".join(rows) + "</table>")


def _date(value) -> str:
    return "–" if value is None or pd.isna(value) or value == "" else escape(str(value))


def _rates_html(rates: dict[str, ErrorRates], themes: list[str]) -> str:
    rows = []
    for t in themes:
        r = rates.get(t)
        rows.append(f"<tr><td>{escape(t)}</td>" + (
            f"<td class=num>{r.tpr:.3f}</td><td class=num>{r.fpr:.3f}</td><td class=num>{r.positives}</td>"
            f"<td class=num>{r.negatives}</td><td>{escape(r.source)}</td></tr>" if r else "<td colspan=5 class=muted>not usable: raw share only</td></tr>"))
    sources = {r.source for r in rates.values()}
    where = ("<p>Measured on analysts' labels of real text: each labelled passage scored by a model that did not train on it.</p>"
             if sources == {"analyst"} else
             "<p class=\"muted\">Measured on the seed labels' held-out split: text written for the project, on which the model "
             "does better than on real commentary. The corrected prevalence is then too low for themes the model over-tags. "
             "Label passages of your own corpus and retrain to measure them on real text.</p>" if sources else "")
    return (where + "<table><tr><th>theme</th><th>recall (tpr)</th><th>false-positive rate</th><th>positives</th>"
            "<th>negatives</th><th>labels</th></tr>" + "".join(rows) + "</table>")


def write_report(path: Path, *, model_version: str, built: datetime, monthly: pd.DataFrame, spikes: pd.DataFrame,
                 evidence: pd.DataFrame, coverage: pd.DataFrame, rates: dict[str, ErrorRates], themes: list[str],
                 charts: list[tuple[Path, str, str]], warnings: list[str]) -> None:
    """Write the report atomically. ``charts`` holds (png path, alt text, caption)."""
    dated = monthly[monthly["source"] == ALL]
    total_docs = int(coverage.loc[coverage["source"] == ALL, "documents"].sum()) if not coverage.empty else 0
    span = f"{dated['period'].min()} to {dated['period'].max()}" if not dated.empty else "no dated documents"
    sources = sorted(s for s in coverage["source"].unique() if s != ALL) if not coverage.empty else []
    notes = "".join(f"<li>{escape(w)}</li>" for w in warnings)
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>policytrends: theme trends ({escape(model_version)})</title>
<style>{CSS}</style></head>
<body><main>
<h1>Theme trends in think-tank commentary</h1>
<p class="meta">Model {escape(model_version)} · built {escape(built.strftime('%Y-%m-%d %H:%M UTC'))} ·
{total_docs} documents from {len(sources)} source(s) ({escape(', '.join(sources))}) · months {escape(span)}</p>
<nav><a href="#changes">Latest changes</a><a href="#spikes">Spikes</a><a href="#charts">Charts</a>
<a href="#coverage">Coverage</a><a href="#method">How to read</a></nav>
{f'<div class="note"><b>Notes</b><ul>{notes}</ul></div>' if notes else ''}
<h2 id="changes">Latest changes</h2>
{_changes_html(monthly, rates)}
<h2 id="spikes">Spikes</h2>
{_spikes_html(spikes, evidence)}
<h2 id="charts">Charts</h2>
{''.join(_img(p, alt, cap) for p, alt, cap in charts) or '<p class="muted">No dated passages to chart.</p>'}
<h2 id="coverage">Coverage</h2>
<p>What the crawler holds per source. A month without documents is a gap in coverage, not a drop in interest.</p>
{_coverage_html(coverage)}
<h2 id="method">How to read this</h2>
<p><b>Raw share</b>: passages the classifier tagged with the theme, over all passages. <b>Corrected prevalence</b>: the
raw share corrected for the classifier's validated recall and false-positive rate (adjusted classify-and-count), with a
95% interval that is wider when a period has few passages. A month is <b>complete</b> once it has ended and every source was
crawled after its end. A <b>spike</b> is a period whose share departs from the median of its trailing 12 periods by at
least 3.5 robust standard deviations (median absolute deviation plus the period's own sampling noise), on at least 20
passages. The tables behind this page, with every column explained, are the CSV and Parquet files beside it.</p>
<h3>Validated error rates of model {escape(model_version)}</h3>
{_rates_html(rates, themes)}
</main></body></html>
"""
    write_text_atomic(path, html)
