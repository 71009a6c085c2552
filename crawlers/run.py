"""Crawl sources into the store, each crawl in its own process.

Scrapy's Twisted reactor cannot be restarted inside one process, so the pipeline calls
:func:`crawl` which runs ``python -m policytrends.crawlers.run`` as a child process; the child crawls all
sources concurrently (one Scrapy crawler per source) and writes per-source counts as JSON.

Exit codes of the child: 0 all sources crawled; 1 some source could not be reached (what
the others stored is kept); 2 the sources file is invalid (nothing crawled).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from policytrends.crawlers import STAT
from policytrends.errors import PolicyTrendsError
from policytrends.runlock import spawn

log = logging.getLogger("policytrends.crawl")
CRAWL_DB_ENV = "POLICYTRENDS_CRAWL_DB_URL"  # how the parent hands the store URL to the crawler process


class CrawlerFailed(PolicyTrendsError):
    """The crawler process died without writing its counts: worth a retry, unlike a bad sources file."""


@dataclass
class CrawlReport:
    sources: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    exit_code: int = 0
    # "source 'x': 1000 fetched, 23417 waiting for the next runs": a first crawl of a big site
    # spread over nights by max_new_articles / time_budget (see progress_notes).
    notes: list[str] = field(default_factory=list)
    log_file: str | None = None


COUNT_KEYS = (
    "articles_seen",              # article URLs discovered this run
    "pages_fetched",              # article bodies downloaded (HTTP 200)
    "not_modified",               # asked conditionally, server said 304: no body downloaded
    "skipped_unchanged_lastmod",  # sitemap lastmod unchanged: not requested at all
    "skipped_before_since",       # sitemap lastmod (or dated URL) before the source's `since`: not requested
    "waiting",                    # articles left for the next run by max_new_articles or time_budget
    "documents_new", "documents_updated", "documents_unchanged",
    "duplicates_dropped",         # same article under another URL: stored once
    "extraction_failed",          # no usable article in the page (binary, empty, garbled...)
    "blocked_offsite",            # requests (redirects, meta refreshes) that would have left the source's origins
    "blocked",                    # bot challenges and rate-limit pages: never stored, the source backed off
)
# An article found unchanged: the server said so (304), the sitemap's lastmod did, or its text hashed the same.
UNCHANGED_KEYS = ("documents_unchanged", "not_modified", "skipped_unchanged_lastmod")


def summed_counts(per_source: dict[str, dict]) -> dict[str, int]:
    """The sources' whole-number counts added up (a figure such as median_body_words is not a count)."""
    out: dict[str, int] = {}
    for counts in per_source.values():
        for k, v in counts.items():
            if isinstance(v, int):
                out[k] = out.get(k, 0) + v
    return out


def unchanged_count(counts: dict) -> int:
    return sum(counts.get(k, 0) for k in UNCHANGED_KEYS)


def failed_count(counts: dict) -> int:
    """Pages that gave no document: no article in them, or an HTTP or network failure.

    A block page is counted under ``blocked``, not again here.
    """
    return counts.get("extraction_failed", 0) + sum(
        v for k, v in counts.items() if k.startswith("failed/") and k != "failed/blocked")


COLLAPSE_RATIO = 0.5  # median body length below half its history: the site probably changed


_RETRY_KINDS = {"DownloadTimeoutError": "timeout", "TimeoutError": "timeout", "TCPTimedOutError": "timeout",
                "DownloadFailedError": "connection_reset", "ResponseNeverReceived": "connection_reset",
                "ConnectionLost": "connection_reset", "ConnectionDone": "connection_reset",
                "ResponseDataLossError": "truncated", "ResponseFailed": "connection_reset",
                "DownloadConnectionRefusedError": "connection_refused", "ConnectionRefusedError": "connection_refused",
                "CannotResolveHostError": "dns_error", "DNSLookupError": "dns_error"}


def retry_kind(reason: str) -> str:
    """Scrapy's retry reason ('503 Service Unavailable', 'scrapy.exceptions.DownloadTimeoutError') as a fault kind."""
    code = reason.split(" ", 1)[0]
    if code.isdigit():
        return f"http_{code}"
    name = reason.rsplit(".", 1)[-1]
    return _RETRY_KINDS.get(name, name)


def _source_counts(stats: dict) -> dict:
    counts: dict = {k.removeprefix(STAT): int(v) for k, v in stats.items() if k.startswith(STAT) and k != STAT + "median_body_words"}
    counts["responses"] = int(stats.get("downloader/response_count", 0))
    # Faults that a retry got past (or not): Scrapy counts them by reason.
    for key, value in stats.items():
        if key.startswith("retry/reason_count/"):
            kind = retry_kind(key.removeprefix("retry/reason_count/"))
            counts[f"retried/{kind}"] = counts.get(f"retried/{kind}", 0) + int(value)
    if stats.get("retry/max_reached"):
        counts["retries_exhausted"] = int(stats["retry/max_reached"])
    for key in COUNT_KEYS:
        counts.setdefault(key, 0)
    if STAT + "median_body_words" in stats:
        counts["median_body_words"] = float(stats[STAT + "median_body_words"])
    return counts


def main(argv: list[str] | None = None) -> int:
    """Child-process entry point: crawl every source in the file into the store."""
    parser = argparse.ArgumentParser(prog="python -m policytrends.crawlers.run")
    parser.add_argument("--sources", required=True)
    # The parent passes the URL in the environment: on the command line, a PostgreSQL password
    # would be visible to every user of the machine (ps).
    parser.add_argument("--db", default=os.environ.get(CRAWL_DB_ENV),
                        help=f"SQLAlchemy URL of the corpus store (default: ${CRAWL_DB_ENV})")
    parser.add_argument("--stats-out", required=True)
    parser.add_argument("--log-file")
    parser.add_argument("--only", action="append", help="crawl only these source names")
    args = parser.parse_args(argv)
    if not args.db:
        parser.error(f"give --db URL or set {CRAWL_DB_ENV}")

    from policytrends.crawlers.sources import load_sources

    try:
        sources = load_sources(args.sources)
    except PolicyTrendsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.only:
        unknown = set(args.only) - {s.name for s in sources}
        if unknown:
            print(f"error: unknown source(s) {sorted(unknown)} in {args.sources}", file=sys.stderr)
            return 2
        sources = [s for s in sources if s.name in args.only]

    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    from policytrends.crawlers.spiders.source_spider import SourceSpider

    settings = Settings()
    settings.setmodule("policytrends.crawlers.settings", priority="project")
    settings.set("POLICYTRENDS_DB_URL", args.db, priority="cmdline")
    if args.log_file:
        settings.set("LOG_FILE", args.log_file, priority="cmdline")
    process = CrawlerProcess(settings)
    crawlers = {}
    for src in sources:
        # One spider class per source, so its politeness settings apply to it alone.
        spider_cls = type(
            f"SourceSpider_{src.name}",
            (SourceSpider,),
            {
                "name": src.name,
                "custom_settings": {
                    "DOWNLOAD_TIMEOUT": src.timeout,
                    "DOWNLOAD_DELAY": src.download_delay,
                    "AUTOTHROTTLE_START_DELAY": max(src.download_delay, 0.05),
                    "CONCURRENT_REQUESTS_PER_DOMAIN": src.concurrency,
                },
            },
        )
        crawler = process.create_crawler(spider_cls)
        crawlers[src.name] = crawler
        process.crawl(crawler, source=src)
    process.start()

    out = {name: _source_counts(c.stats.get_stats()) for name, c in crawlers.items()}
    Path(args.stats_out).write_text(json.dumps(out, indent=2, sort_keys=True), encoding="utf-8")
    failed = [n for n, c in out.items() if c.get("discovery_failed") and not c.get("pages_fetched")]
    return 1 if failed else 0


def crawl(sources_file: Path, db_url: str, work_dir: Path, only: list[str] | None = None, processes: int = 1) -> CrawlReport:
    """Run the crawl in child processes and return per-source counts.

    With ``processes`` above 1 the sources are shared out (round robin) between that many
    crawler processes, which run at the same time: a slow source does not hold up the others
    of its process, and page extraction (trafilatura, pdfminer) uses more than one core.

    Raises PolicyTrendsError for an invalid sources file; unreachable sources become warnings
    in the report (``exit_code`` 1) and what the others stored is kept.
    """
    from policytrends.crawlers.sources import load_sources

    work_dir.mkdir(parents=True, exist_ok=True)
    stats_path = work_dir / "last_crawl_stats.json"
    log_path = work_dir / "last_crawl.log"
    stats_path.unlink(missing_ok=True)
    names = [s.name for s in load_sources(sources_file)]
    if only:
        unknown = set(only) - set(names)
        if unknown:
            raise PolicyTrendsError(f"unknown source(s) {sorted(unknown)} in {sources_file}")
        names = [n for n in names if n in only]
    n = max(1, min(processes, len(names)))
    groups = [names[i::n] for i in range(n)] if n > 1 else [list(only or [])]
    jobs = []
    for i, group in enumerate(groups):
        stats_i = stats_path if n == 1 else work_dir / f"last_crawl_stats.{i}.json"
        log_i = log_path if n == 1 else work_dir / f"last_crawl.{i}.log"
        stats_i.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "policytrends.crawlers.run", "--sources", str(sources_file),
               "--stats-out", str(stats_i), "--log-file", str(log_i)]
        for name in group:
            cmd += ["--only", name]
        # (spawn: the crawler dies with this process and holds its run lock until it exits, so a
        # run killed with kill -9 leaves no crawler storing pages beside the next run)
        proc = spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                     env={**os.environ, CRAWL_DB_ENV: db_url})
        jobs.append((proc, stats_i, log_i))
    sources: dict[str, dict] = {}
    exit_code = 0
    failure = None
    bar = None
    if sys.stderr.isatty():  # a bar on a terminal; log lines otherwise (nightly runs log to files)
        from tqdm import tqdm

        bar = tqdm(total=len(names), desc="crawl", unit="source")
    for i, (proc, stats_i, log_i) in enumerate(jobs):
        _, stderr = proc.communicate()
        group = groups[i] if n > 1 else names
        if bar is not None:
            bar.update(len(group))
        else:
            log.info("crawl: finished %s (%d of %d crawler processes done)", ", ".join(group), i + 1, len(jobs))
        if proc.returncode == 2:
            message = stderr.strip().splitlines()[-1] if stderr.strip() else "invalid sources file"
            failure = failure or PolicyTrendsError(message.removeprefix("error: "))
        elif not stats_i.exists():
            tail = "\n".join(stderr.strip().splitlines()[-5:])
            failure = failure or CrawlerFailed(f"the crawler process failed (exit {proc.returncode}); see {log_i}\n{tail}")
        else:
            sources.update(json.loads(stats_i.read_text()))
            exit_code = max(exit_code, proc.returncode)
    if bar is not None:
        bar.close()
    if n > 1:  # one log and one stats file, as with a single process
        with log_path.open("w", encoding="utf-8") as out:
            for _, stats_i, log_i in jobs:
                if log_i.exists():
                    out.write(log_i.read_text(encoding="utf-8", errors="replace"))
                    log_i.unlink()
                stats_i.unlink(missing_ok=True)
        stats_path.write_text(json.dumps(sources, indent=2, sort_keys=True), encoding="utf-8")
    if failure is not None:
        raise failure
    report = CrawlReport(sources=sources, exit_code=exit_code, log_file=str(log_path))
    report.warnings = review_run(report.sources, db_url, log_path)
    report.notes = progress_notes(report.sources)
    for note in report.notes:
        log.info(note)
    return report


def progress_notes(sources: dict[str, dict]) -> list[str]:
    """One line per source with articles still waiting: how many this run fetched, how many wait."""
    return [f"source {name!r}: {c.get('pages_fetched', 0)} fetched, {c['waiting']} waiting for the next run"
            for name, c in sorted(sources.items()) if c.get("waiting")]


def review_run(sources: dict[str, dict], db_url: str, log_path: Path | str) -> list[str]:
    """Warnings an operator should see, and the run recorded in the store's crawl history."""
    from datetime import UTC, datetime
    from statistics import median

    from policytrends.corpus.store import CorpusStore
    from policytrends.crawlers.middlewares import blocked_warnings

    store = CorpusStore(db_url)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    warnings: list[str] = []
    for name, counts in sorted(sources.items()):
        if counts.get("discovery_failed") and not counts.get("articles_seen"):
            warnings.append(f"source {name!r}: start URL unreachable, nothing crawled (see {log_path})")
        elif not counts.get("articles_seen"):
            warnings.append(f"source {name!r}: yielded no article links (check its discovery URLs and article_patterns)")
        if counts.get("blocked_offsite"):
            warnings.append(f"source {name!r}: {counts['blocked_offsite']} redirect(s) to other sites not followed")
        for key, value in sorted(counts.items()):
            if key.startswith("failed/sitemap_") and value:  # named by crawlers.sitemaps
                warnings.append(f"source {name!r}: {value} sitemap(s) refused or read in part: {key.removeprefix('failed/')}")
            elif key.startswith("failed/") and key != "failed/blocked" and value:  # blocked: its own warning below
                warnings.append(f"source {name!r}: {value} page(s) failed with {key.removeprefix('failed/')}")
        if counts.get("sitemap_bad_entries"):
            warnings.append(f"source {name!r}: {counts['sitemap_bad_entries']} sitemap entries unreadable (an XML entity "
                            f"or broken markup): skipped, the others read (see {log_path})")
        if counts.get("extraction_failed"):
            warnings.append(f"source {name!r}: {counts['extraction_failed']} page(s) had no extractable article (see {log_path})")
        words = counts.get("median_body_words")
        history = store.body_length_history(name, run_id)
        if words is not None and history and words < COLLAPSE_RATIO * median(history):
            warnings.append(
                f"source {name!r}: median body length fell to {words:.0f} words from {median(history):.0f} in "
                "earlier crawls: the site may have been redesigned (check extraction, add selectors)"
            )
        store.record_crawl_run(run_id, name, {k: v for k, v in counts.items() if k != "median_body_words"}, words)
    return warnings + blocked_warnings(sources)  # a blocked source is a state to act on, in the manifest


if __name__ == "__main__":
    sys.exit(main())
