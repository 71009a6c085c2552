"""What a run did, for people and scripts: the run manifest, its Markdown page and the summary lines.

The nightly flow hands its stage results (crawl, segment, classify, tables, store) to these;
``outputs/run_manifest.json`` is part of the contract with analysts' scripts (outputs/README.md).
"""

from __future__ import annotations

import logging
from pathlib import Path

from policytrends.files import write_json_atomic
from policytrends.settings import Settings
from policytrends.trends.outputs import THEME_SPIKES, THEME_TRENDS_MONTHLY, TRENDS_REPORT

log = logging.getLogger("policytrends")

# What every nightly run did (run id, times, model, counts per stage and source, warnings); written atomically.
RUN_MANIFEST = "run_manifest.json"


def format_summary(summary: dict, settings: Settings) -> str:
    """What an analyst wants to read after a run, in a few lines."""
    from policytrends.crawlers.run import summed_counts, unchanged_count

    totals = summed_counts(summary["crawl"]["sources"])
    store = summary["store"]
    unchanged = unchanged_count(totals)
    shares = ", ".join(f"{t} {v:.1%}" for t, v in summary["tables"]["share_by_theme"].items())
    lines = [
        f"policytrends run finished in {summary['seconds']:.0f} s with model {summary['model_version']}",
        f"  crawled: {totals.get('articles_seen', 0)} articles seen in {len(summary['crawl']['sources'])} sources: "
        f"{totals.get('documents_new', 0)} new, {totals.get('documents_updated', 0)} updated, "
        f"{unchanged} unchanged ({totals.get('pages_fetched', 0)} downloaded), "
        f"{totals.get('duplicates_dropped', 0)} duplicates, {totals.get('extraction_failed', 0)} not extractable",
        f"  store:   {store['documents']} documents, {store['passages']} passages "
        f"({summary['classify']['passages_classified']} newly classified)",
        f"  share of passages per theme: {shares}",
        f"  tables:  {settings.output(THEME_TRENDS_MONTHLY)} ({summary['tables']['rows']} rows, "
        f"{summary['tables']['periods']} months, sources: {', '.join(summary['tables']['sources'])})",
    ]
    if "spikes" in summary["tables"]:
        lines.append(f"  spikes:  {summary['tables']['spikes']} in {settings.output(THEME_SPIKES)}; "
                     f"report: {settings.output(TRENDS_REPORT)}")
    if summary["tables"].get("undated_documents"):
        lines.append(f"  note:    {summary['tables']['undated_documents']} documents have no date and are not in the monthly table")
    for warning in summary["tables"].get("warnings", []):
        if "publication date" not in warning:  # the undated note above says it once
            lines.append(f"  warning: {warning}")
    for warning in summary["crawl"]["warnings"]:
        lines.append(f"  warning: {warning}")
    return "\n".join(lines)


def build_manifest(summary: dict, run_id: str, started_at, ended_at, flow: str = "nightly") -> dict:
    """The run manifest (``outputs/run_manifest.json``): what one run did, for people and scripts.

    ``summary`` is the nightly flow's dict of stage results (crawl, segment, classify, tables,
    store); the manifest puts the run's identity and times first, then counts per stage and per
    source, every warning in one list, and keeps the stage results in full at the end.
    """
    from policytrends.crawlers.run import failed_count, summed_counts, unchanged_count

    crawl_sources = summary["crawl"]["sources"]
    totals = summed_counts(crawl_sources)
    by_source = summary["store"].get("by_source", {})
    sources = {}
    for name in sorted(set(crawl_sources) | set(by_source)):
        crawled = crawl_sources.get(name, {})
        sources[name] = {
            "articles_seen": crawled.get("articles_seen", 0),
            "pages_fetched": crawled.get("pages_fetched", 0),
            "documents_new": crawled.get("documents_new", 0),
            "documents_updated": crawled.get("documents_updated", 0),
            "documents_unchanged": unchanged_count(crawled),
            "failed": failed_count(crawled),
            "blocked": crawled.get("blocked", 0),
            "waiting": crawled.get("waiting", 0),
            "documents_stored": by_source.get(name, {}).get("documents", 0),
            "passages_stored": by_source.get(name, {}).get("passages", 0),
        }
    tables = summary["tables"]
    warnings = list(summary["crawl"].get("warnings", [])) + list(tables.get("warnings", []))
    return {
        "run_id": run_id,
        "flow": flow,
        "started_at": started_at.isoformat(timespec="seconds"),
        "ended_at": ended_at.isoformat(timespec="seconds"),
        "seconds": summary["seconds"],
        "stage_seconds": summary.get("stage_seconds", {}),
        "model_version": summary["model_version"],
        "stages": {
            "crawl": {**{k: totals.get(k, 0) for k in ("articles_seen", "pages_fetched", "not_modified", "skipped_unchanged_lastmod",
                                                        "skipped_before_since", "documents_new", "documents_updated",
                                                        "documents_unchanged", "duplicates_dropped", "extraction_failed",
                                                        "blocked", "blocked_offsite", "waiting")},
                      # why pages were dropped: rejected/too_short, rejected/pdf_only, ...
                      **{k: v for k, v in sorted(totals.items()) if k.startswith("rejected/")}},
            "segment": dict(summary["segment"]),
            "classify": {"passages_classified": summary["classify"]["passages_classified"]},
            "aggregate": {"monthly_rows": tables.get("rows", 0), "months": tables.get("periods", 0),
                          "spikes": tables.get("spikes", 0), "prediction_rows_read": tables.get("prediction_rows_read", 0)},
            "store": {"documents": summary["store"]["documents"], "passages": summary["store"]["passages"]},
        },
        "sources": sources,
        "warnings": warnings,
        **{k: summary[k] for k in ("crawl", "segment", "classify", "tables", "store")},
    }


def write_manifest(path: Path, manifest: dict) -> None:
    """Write ``manifest`` as JSON atomically: a reader sees the previous file or the new one, never half of one."""
    write_json_atomic(path, manifest)


def manifest_markdown(manifest: dict) -> str:
    """The manifest as a short Markdown page: the Prefect artifact each nightly run leaves in the UI."""
    crawl = manifest["stages"]["crawl"]
    lines = [
        f"# Nightly run {manifest['run_id']}",
        "",
        f"{manifest['started_at']} to {manifest['ended_at']} ({manifest['seconds']:.0f} s), model `{manifest['model_version']}`",
        "",
        f"- crawl: {crawl['articles_seen']} articles seen, {crawl['documents_new']} new, {crawl['documents_updated']} updated, "
        f"{crawl['pages_fetched']} downloaded",
        f"- segment: {manifest['stages']['segment'].get('documents_segmented', 0)} documents cut into "
        f"{manifest['stages']['segment'].get('passages_written', 0)} passages",
        f"- classify: {manifest['stages']['classify']['passages_classified']} passages newly classified",
        f"- tables: {manifest['stages']['aggregate']['monthly_rows']} monthly rows, {manifest['stages']['aggregate']['spikes']} spikes",
        f"- store: {manifest['stages']['store']['documents']} documents, {manifest['stages']['store']['passages']} passages",
        "",
        "| source | seen | downloaded | new | updated | unchanged | failed | documents stored | passages stored |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, c in manifest["sources"].items():
        lines.append(f"| {name} | {c['articles_seen']} | {c['pages_fetched']} | {c['documents_new']} | {c['documents_updated']} | "
                     f"{c['documents_unchanged']} | {c['failed']} | {c['documents_stored']} | {c['passages_stored']} |")
    if manifest["warnings"]:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in manifest["warnings"]]
    return "\n".join(lines) + "\n"
