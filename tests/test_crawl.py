"""Real Scrapy crawls over HTTP on 127.0.0.1: the demo sites and misbehaving test sites."""

from __future__ import annotations

import json

import pytest

from policytrends.corpus.store import CorpusStore
from policytrends.crawlers.run import crawl
from policytrends.crawlers.sources import DEMO_SOURCES_TEMPLATE
from policytrends.demo_sites.content import SITES, load_articles
from policytrends.errors import PolicyTrendsError
from tests.helpers import free_port

pytestmark = pytest.mark.slow


def _docs(store: CorpusStore):
    import sqlalchemy as sa

    from policytrends.corpus.store import documents

    with store.engine.connect() as conn:
        return {r.canonical_url: r for r in conn.execute(sa.select(documents))}


def test_demo_crawl_stores_every_article_once_and_rerun_adds_nothing(settings, demo_sites):
    sources = demo_sites.write_sources(DEMO_SOURCES_TEMPLATE, settings.crawl_dir / "demo.yaml")
    report = crawl(sources, settings.db_url, settings.crawl_dir)
    assert report.exit_code == 0 and report.warnings == []
    expected = {site: len(load_articles(site)) for site in SITES}
    assert {s: c["documents_new"] for s, c in report.sources.items()} == expected
    assert all(c["extraction_failed"] == 0 for c in report.sources.values())

    store = CorpusStore(settings.db_url)
    docs = _docs(store)
    assert len(docs) == sum(expected.values())
    # Stored text and metadata are the articles as written, boilerplate-free.
    by_title = {d.title: d for d in docs.values()}
    for site in SITES:
        for a in load_articles(site):
            d = by_title[a.title]
            assert d.source == site
            assert d.published == a.date
            assert json.loads(d.authors) == list(a.authors)
            assert d.body.split("\n") == list(a.paragraphs)
            assert d.canonical_url.startswith(f"https://{site}.example/")
    pdfs = [d for d in docs.values() if d.content_type == "application/pdf"]
    assert len(pdfs) == sum(a.format == "pdf" for a in load_articles("caldera")) > 0

    # Second run: no article body is downloaded again. Meridian's sitemap lastmod has not
    # moved, so its articles are not even requested; the others answer 304 to conditional GETs.
    again = crawl(sources, settings.db_url, settings.crawl_dir)
    assert again.warnings == []
    for site, counts in again.sources.items():
        assert counts["pages_fetched"] == 0, site
        assert counts["documents_new"] == counts["documents_updated"] == 0, site
        unchanged = counts["not_modified"] + counts["skipped_unchanged_lastmod"]
        assert unchanged == counts["articles_seen"] == expected[site], site
    assert again.sources["meridian"]["skipped_unchanged_lastmod"] == expected["meridian"]
    assert again.sources["harborview"]["not_modified"] == expected["harborview"]
    assert store.count("documents") == sum(expected.values())


def _sources_file(tmp_path, base, **extra):
    import yaml

    entry = {"name": "testsite", "discovery": {"listing": [f"{base}/list"]},
             "article_patterns": ["^/a/"], "politeness": {"download_delay": 0, "concurrency": 2}}
    entry.update(extra)
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [entry]}))
    return path


def _article(title: str, words: int = 80) -> bytes:
    body = " ".join(["Deterrence commitments need credible forces and clear messages to allies."] * (words // 10))
    return (f"<html><head><title>{title}</title><meta property='article:published_time' content='2020-05-01'>"
            f"</head><body><nav>Home About</nav><article><h1>{title}</h1><p>{body}</p><p>{body}</p></article>"
            "<footer>Copyright</footer></body></html>").encode()


def test_bad_pages_are_counted_and_never_stored(settings, make_site, tmp_path):
    links = "".join(f"<a href='/a/{n}'>{n}</a>" for n in ["good", "binary", "empty", "missing", "broken", "pdfjunk", "image"])
    site = make_site({
        "/list": (200, "text/html", f"<html><body>{links}</body></html>".encode()),
        "/a/good": (200, "text/html; charset=utf-8", _article("A good article")),
        "/a/binary": (200, "text/html", bytes(range(256)) * 40),
        "/a/empty": (200, "text/html", b"<html><head><title>Stub</title></head><body><p>Coming soon.</p></body></html>"),
        "/a/broken": (500, "text/html", b"<html><body>Server error</body></html>"),
        "/a/pdfjunk": (200, "application/pdf", b"%PDF-1.4 truncated nonsense"),
        "/a/image": (200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200),
    })
    report = crawl(_sources_file(tmp_path, site.base), settings.db_url, settings.crawl_dir)
    counts = report.sources["testsite"]
    assert counts["documents_new"] == 1
    assert counts["extraction_failed"] == 4  # binary, empty, pdfjunk, image
    assert counts["failed/http_404"] == 1 and counts["failed/http_500"] == 1
    docs = _docs(CorpusStore(settings.db_url))
    assert [d.title for d in docs.values()] == ["A good article"]
    assert any("failed with http_500" in w for w in report.warnings)


def test_unreachable_start_url_is_reported_and_stored_documents_are_kept(settings, make_site, tmp_path):
    site = make_site({"/list": (200, "text/html", b"<a href='/a/one'>one</a>"), "/a/one": (200, "text/html", _article("Kept"))})
    crawl(_sources_file(tmp_path, site.base), settings.db_url, settings.crawl_dir)
    assert CorpusStore(settings.db_url).count("documents") == 1

    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    report = crawl(_sources_file(tmp_path, dead), settings.db_url, settings.crawl_dir)
    assert report.exit_code == 1
    assert any("start URL unreachable" in w for w in report.warnings)
    assert CorpusStore(settings.db_url).count("documents") == 1


def test_invalid_sources_file_fails_before_crawling(settings, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [name: x\n")
    with pytest.raises(PolicyTrendsError, match="not valid YAML"):
        crawl(bad, settings.db_url, settings.crawl_dir)
