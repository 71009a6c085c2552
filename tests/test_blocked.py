"""Being blocked is a state, not an article: bot challenges and rate-limit pages are counted as
blocked, never stored, back the source off, and are raised as warnings in the run manifest.

The block pages are our own fixtures in the shapes real ones take (a JavaScript bot challenge;
the body of a rate-limit error page); crawls are real Scrapy over HTTP on 127.0.0.1.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from policytrends.corpus.store import CorpusStore, documents
from policytrends.crawlers.middlewares import block_kind, blocked_warnings, retry_after_seconds
from policytrends.manifest import build_manifest
from policytrends.pipeline import crawl_step
from tests.hostile_site import RouteSite, article, block_routes, listing_sources

FIXTURES = Path(__file__).parent / "fixtures"
CHALLENGE = (FIXTURES / "sites" / "blocked" / "challenge.html").read_bytes()
RATE_LIMIT = (FIXTURES / "sites" / "blocked" / "rate-limit.html").read_bytes()


# --------------------------------------------------------------------------- telling a block page from a page
def test_the_two_block_page_shapes_are_recognised_even_sent_as_200():
    assert block_kind(200, {}, CHALLENGE) == "challenge"
    assert block_kind(200, {}, RATE_LIMIT) == "rate_limited"


def test_status_and_headers_tell_on_their_own():
    assert block_kind(429, {}, b"slow down") == "rate_limited"
    assert block_kind(403, {"cf-mitigated": "challenge"}, b"") == "challenge"
    assert block_kind(200, {}, b"<script>window._cf_chl_opt={cType:'managed'}</script>") == "challenge"


def test_ordinary_pages_are_not_block_pages():
    pages = [p for p in (FIXTURES / "extraction").rglob("*.htm*")] + list((FIXTURES / "sites" / "lakeshore").glob("*.html"))
    assert len(pages) >= 5
    for page in pages:
        assert block_kind(200, {}, page.read_bytes()) is None, page.name
    assert block_kind(503, {"Retry-After": "1"}, b"busy") is None  # a busy server is retried, not "blocked"
    assert block_kind(404, {}, b"<html><body>missing</body></html>") is None


def test_an_article_about_rate_limits_is_an_article():
    text = ("Regulators asked why the exchange answered 'too many requests' during the sell-off, and whether "
            "a rate limit exceeded by algorithmic traders should trigger a pause. ")
    page = article("Market plumbing under stress", text=text).encode()
    assert block_kind(200, {}, page) is None  # a long page: the phrase is part of the story
    assert block_kind(403, {}, page) == "rate_limited"  # refused, with that phrase: a rate-limit page


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after_seconds(b"120") == 120.0
    later = datetime.fromtimestamp(1_000_090, UTC)
    assert retry_after_seconds(format_datetime(later, usegmt=True), now=1_000_000) == pytest.approx(90)
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None and retry_after_seconds("-5") is None


def test_the_warning_says_what_was_done():
    stopped, slowed = blocked_warnings({
        "a": {"blocked": 2, "blocked/challenge": 2, "blocked_stopped": 1},
        "b": {"blocked": 1, "blocked/rate_limited": 1, "backoff_wait_seconds": 1, "backoff_interval_seconds": 1},
        "c": {"blocked": 0, "articles_seen": 3},
    })
    assert stopped.startswith("source 'a': blocked by the site (2 challenge page(s), not stored)")
    assert "stopped for this run" in stopped
    assert "waited 1 s as the site asked" in slowed


# --------------------------------------------------------------------------- a crawl meeting them
@pytest.mark.slow
def test_block_pages_are_counted_not_stored_and_back_the_source_off(settings, tmp_path):
    sites = block_routes(CHALLENGE, RATE_LIMIT)
    site = RouteSite({path: route for routes in sites.values() for path, route in routes.items()})
    try:
        result = crawl_step(settings, listing_sources(tmp_path / "sources.yaml", site.base, list(sites)))
    finally:
        site.close()
    counts = result["sources"]
    with CorpusStore(settings.db_url).engine.connect() as conn:
        stored = conn.execute(sa.select(documents.c.source, documents.c.title)).all()

    for name, kind in [("challenge-200", "challenge"), ("challenge-403", "challenge"),
                       ("rate-limit-200", "rate_limited"), ("rate-limit-long", "rate_limited")]:
        c = counts[name]
        assert c["blocked"] == c[f"blocked/{kind}"] == 1, (name, c)
        assert c["blocked_stopped"] == 1 and c["failed/blocked"] >= 1, (name, c)
        assert not any(r.source == name for r in stored), name
        # Stopped: the first block page is the last request the site gets from us this run.
        assert len([p for p in site.hits(f"/{name}/") if not p.endswith("/list")]) == 1, (name, site.hits(f"/{name}/"))

    # Rate limited once with Retry-After: 1: waited, slowed down, then every article stored.
    c = counts["limited-once"]
    assert c["blocked"] == c["blocked/rate_limited"] == 1 and not c.get("blocked_stopped")
    assert sorted(r.title for r in stored if r.source == "limited-once") == [f"Article {i} after the wait" for i in (1, 2, 3)]
    times = [t for t, p in site.requests if p.startswith("/limited-once/") and not p.endswith("/list")]
    limited_at = times[[p for _, p in site.requests if p.startswith("/limited-once/") and not p.endswith("/list")].index(
        "/limited-once/1")]
    assert all(t - limited_at >= 0.95 for t in times if t > limited_at)  # nothing sent before Retry-After ran out
    assert len(stored) == 3  # nothing else: no block page became a document

    # Raised as warnings, which the run manifest carries.
    summary = {"crawl": result, "store": {"documents": 3, "passages": 0}, "tables": {}, "segment": {},
               "classify": {"passages_classified": 0}, "seconds": 1.0, "model_version": "test"}
    manifest = build_manifest(summary, "run-1", datetime.now(UTC), datetime.now(UTC))
    blocked = [w for w in manifest["warnings"] if "blocked by the site" in w]
    assert len(blocked) == 5
    assert any(w.startswith("source 'limited-once'") and "waited 1 s" in w for w in blocked)
    assert any(w.startswith("source 'challenge-200'") and "stopped for this run" in w for w in blocked)
    assert not [w for w in manifest["warnings"] if "failed with blocked" in w]  # said once, as blocked
    assert manifest["stages"]["crawl"]["blocked"] == 5
    assert manifest["sources"]["challenge-200"]["blocked"] == 1 and manifest["sources"]["challenge-200"]["failed"] == 0
