"""Crawling sources described only in YAML: new layouts, incremental reruns, duplicates, bad pages.

Every crawl here is real Scrapy over HTTP against a throwaway site on 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from policytrends.corpus.store import CorpusStore, documents
from policytrends.crawlers.run import crawl

pytestmark = pytest.mark.slow
LAKESHORE = Path(__file__).parent / "fixtures" / "sites" / "lakeshore"


def _write_sources(tmp_path, **entry) -> Path:
    entry = {"name": "testsite", "politeness": {"download_delay": 0, "concurrency": 4, "timeout": 2}, **entry}
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [entry]}))
    return path


def _docs(settings) -> list:
    with CorpusStore(settings.db_url).engine.connect() as conn:
        return list(conn.execute(sa.select(documents).order_by(documents.c.canonical_url)))


def _page(title: str, paragraphs: list[str], head: str = "", charset: str = "utf-8",
          byline: str = "By Ada Quinlan | 9 April 2021") -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!DOCTYPE html><html><head><meta charset='{charset}'><title>{title}</title>{head}</head><body>"
            f"<nav><a href='/'>Home</a> <a href='/about'>About us</a></nav><main><h1>{title}</h1>"
            f"<p class='byline'>{byline}</p>{body}</main>"
            "<aside><h3>Newsletter</h3><p>Sign up for our weekly briefing.</p></aside>"
            "<footer>© Testsite Institute</footer></body></html>").encode()


PARAS = [
    "Arms control between the great powers has entered a period without ceilings, inspections or regular "
    "dialogue, and the absence of shared data is already shaping how planners size their forces.",
    "Verification was never only a technical exercise. It gave each side a reason to keep talking when "
    "relations soured, and it let officials correct mistaken assumptions before they hardened into policy.",
    "Restoring some of that transparency need not wait for a new treaty. Data exchanges, notifications of "
    "exercises and a standing channel for military experts could be agreed quickly if both capitals wanted them.",
]


def test_a_new_layout_written_only_as_yaml(settings, make_site, tmp_path):
    """A site layout the code has never seen, added as one sources entry, crawled over HTTP."""
    routes = {f"/research/{p.stem}": (200, "text/html; charset=utf-8", p.read_bytes()) for p in LAKESHORE.glob("*-*-*.html")}
    routes["/tags/europe"] = (200, "text/html", (LAKESHORE / "tag-europe.html").read_bytes())
    site = make_site(routes)
    routes["/sitemap.xml"] = (200, "application/xml", (LAKESHORE / "sitemap.xml").read_text().replace("BASE", site.base).encode())
    sources = _write_sources(
        tmp_path, name="lakeshore", discovery={"sitemap": [f"{site.base}/sitemap.xml"]},
        article_patterns=["^/research/[a-z0-9-]+$"], skip_patterns=["^/tags/", "^/people/"],
    )
    report = crawl(sources, settings.db_url, settings.crawl_dir)
    assert report.warnings == []
    counts = report.sources["lakeshore"]
    assert counts["documents_new"] == 3 and counts["articles_seen"] == 3
    assert site.hits.get("/tags/europe") is None  # skipped pages are not even requested

    truth = json.loads((LAKESHORE / "truth.json").read_text())
    stored = {d.canonical_url.rsplit("/", 1)[1]: d for d in _docs(settings)}
    assert set(stored) == set(truth)
    for slug, t in truth.items():
        d = stored[slug]
        assert d.title == t["title"]
        assert d.body.split("\n") == t["paragraphs"]  # no header box, sidebar, newsletter or footer
        assert json.loads(d.authors) == [t["author"]]
    assert [stored[s].published.isoformat() for s in sorted(truth)] == ["2014-06-03", "2016-10-14", "2019-05-27"]


def test_rerun_downloads_nothing_unchanged_and_refetches_a_changed_article(settings, make_site, tmp_path):
    routes = {
        "/list": (200, "text/html", b"<a href='/a/one'>1</a> <a href='/a/two'>2</a>"),
        "/a/one": (200, "text/html", _page("First piece", PARAS)),
        "/a/two": (200, "text/html", _page("Second piece", PARAS[::-1])),
    }
    site = make_site(routes)
    sources = _write_sources(tmp_path, discovery={"listing": [f"{site.base}/list"]}, article_patterns=["^/a/"])
    first = crawl(sources, settings.db_url, settings.crawl_dir).sources["testsite"]
    assert first["pages_fetched"] == 2 and first["documents_new"] == 2

    second = crawl(sources, settings.db_url, settings.crawl_dir).sources["testsite"]
    assert second["pages_fetched"] == 0 and second["not_modified"] == 2
    assert second["documents_new"] == second["documents_updated"] == 0

    routes["/a/two"] = (200, "text/html", _page("Second piece", PARAS[::-1] + ["A correction was appended to this piece after publication, clarifying the figures quoted in the second paragraph."]))
    third = crawl(sources, settings.db_url, settings.crawl_dir).sources["testsite"]
    assert third["pages_fetched"] == 1 and third["not_modified"] == 1 and third["documents_updated"] == 1
    two = [d for d in _docs(settings) if d.title == "Second piece"][0]
    assert two.body.endswith("clarifying the figures quoted in the second paragraph.")
    assert len(_docs(settings)) == 2


def test_the_same_article_under_several_urls_is_stored_once(settings, make_site, tmp_path):
    host = "127.0.0.1"
    routes = {}
    site = make_site(routes)
    canonical = f"<link rel='canonical' href='http://www.{host}:{site.base.rsplit(':', 1)[1]}/a/original/'>"
    page = _page("One article", PARAS, head=canonical)
    routes.update({
        "/list": (200, "text/html", b"<a href='/a/original?utm_source=feed&utm_medium=rss'>x</a>"
                  b"<a href='/a/original/'>y</a><a href='/a/original#comments'>z</a>"
                  b"<a href='/a/amp-version'>amp</a><a href='/a/print-version'>print</a>"),
        "/a/original?utm_source=feed&utm_medium=rss": (200, "text/html", page),
        "/a/original": (200, "text/html", page),
        "/a/original/": (200, "text/html", page),
        "/a/amp-version": (200, "text/html", page),  # another URL, rel=canonical to the original
        "/a/print-version": (200, "text/html", _page("One article", PARAS)),  # same text, no canonical link
    })
    report = crawl(_write_sources(tmp_path, discovery={"listing": [f"{site.base}/list"]}, article_patterns=["^/a/"]),
                   settings.db_url, settings.crawl_dir)
    counts = report.sources["testsite"]
    docs = _docs(settings)
    assert len(docs) == 1
    assert docs[0].canonical_url == f"http://{host}:{site.base.rsplit(':', 1)[1]}/a/original"
    assert counts["documents_new"] == 1
    assert counts["duplicates_dropped"] == 2  # the AMP copy (by canonical link) and the print copy (by text)
    assert "/a/original?utm_source=feed&utm_medium=rss" not in site.hits  # tracking tags stripped before fetching


def test_bad_pages_are_counted_logged_and_never_stored(settings, make_site, tmp_path):
    elsewhere = make_site({"/a/elsewhere": (200, "text/html", _page("Off-site article", PARAS))})
    good = _page("Good article", PARAS)
    curly = "Officials called the plan “credible” and said it wasn’t negotiable — at least not yet, for now."
    routes = {
        "/a/good": (200, "text/html; charset=utf-8", good),
        "/a/malformed": (200, "text/html", b"<html><head><title>Malformed page</title><body><div><p>" + PARAS[0].encode()
                         + b"<p>" + PARAS[1].encode() + b"<table><tr><td>" + PARAS[2].encode() + b"</div></span>"),
        "/a/broken-jsonld": (200, "text/html", _page("Broken metadata", PARAS, head=(
            "<script type='application/ld+json'>{\"@type\": \"Article\", \"headline\": </script>"
            "<meta property='article:published_time' content='2020-02-03'>"), byline="By Ada Quinlan")),
        "/a/wrong-charset": (200, "text/html; charset=iso-8859-1", _page("Charset mix-up", [curly] + PARAS, charset="iso-8859-1")),
        "/a/no-charset": (200, "text/html", _page("Windows text", [curly] + PARAS).decode("utf-8").replace("<meta charset='utf-8'>", "").encode("cp1252")),
        "/a/no-body": (200, "text/html", b"<html><head><title>Stub</title></head><body><nav>Home</nav><p>Coming soon.</p></body></html>"),
        "/a/gone": (404, "text/html", b"<html><body>Not here</body></html>"),
        "/a/error": (500, "text/html", b"<html><body>Oops</body></html>"),
        "/a/slow": ("sleep", 4),
        "/a/loop1": (302, {"Location": "/a/loop2"}, b""),
        "/a/loop2": (302, {"Location": "/a/loop1"}, b""),
        "/a/offsite": (302, {"Location": f"http://localhost:{elsewhere.base.rsplit(':', 1)[1]}/a/elsewhere"}, b""),
        "/a/binary": (200, "text/html", bytes(range(256)) * 50),
    }
    links = "".join(f"<a href='{p}'>{p}</a>" for p in routes)
    routes["/list"] = (200, "text/html", links.encode())
    site = make_site(routes)
    report = crawl(_write_sources(tmp_path, discovery={"listing": [f"{site.base}/list"]}, article_patterns=["^/a/"]),
                   settings.db_url, settings.crawl_dir)
    counts = report.sources["testsite"]
    assert counts["failed/http_404"] == 1
    assert counts["failed/http_500"] == 1
    assert counts["failed/timeout"] == 1
    assert counts["failed/redirect_loop"] == 2  # entered at either end, the loop never ends
    assert counts["blocked_offsite"] == 1 and counts["failed/offsite_redirect"] == 1
    assert elsewhere.hits == {}  # the redirect to another host was not followed
    assert counts["extraction_failed"] == 2  # no body, binary
    log = Path(report.log_file).read_text()
    for path in ("/a/gone", "/a/error", "/a/slow", "/a/no-body", "/a/binary"):
        assert f"{site.base}{path}" in log, path

    stored = {d.title: d for d in _docs(settings)}
    assert set(stored) == {"Good article", "Malformed page", "Broken metadata", "Charset mix-up", "Windows text"}
    assert stored["Broken metadata"].published.isoformat() == "2020-02-03"
    assert stored["Charset mix-up"].body.split("\n")[0] == curly  # no mojibake
    assert stored["Windows text"].body.split("\n")[0] == curly
    assert all(len(d.body.split()) >= 40 for d in stored.values())


def test_a_collapse_in_body_length_is_flagged(settings, make_site, tmp_path):
    long_paras = PARAS * 4
    routes = {"/list": (200, "text/html", b"<a href='/a/one'>1</a><a href='/a/two'>2</a>"),
              "/a/one": (200, "text/html", _page("One", long_paras)),
              "/a/two": (200, "text/html", _page("Two", long_paras[1:]))}
    site = make_site(routes)
    sources = _write_sources(tmp_path, discovery={"listing": [f"{site.base}/list"]}, article_patterns=["^/a/"])
    assert crawl(sources, settings.db_url, settings.crawl_dir).warnings == []
    # A "redesign": the article text now sits where the extractor finds only the first paragraph.
    routes["/a/one"] = (200, "text/html", _page("One", PARAS[:2]))
    routes["/a/two"] = (200, "text/html", _page("Two", PARAS[1:]))
    warnings = crawl(sources, settings.db_url, settings.crawl_dir).warnings
    assert any("median body length fell" in w and "testsite" in w for w in warnings)


def test_a_source_with_no_article_links_is_flagged(settings, make_site, tmp_path):
    site = make_site({"/list": (200, "text/html", b"<a href='/about'>About</a>")})
    report = crawl(_write_sources(tmp_path, discovery={"listing": [f"{site.base}/list"]}, article_patterns=["^/a/"]),
                   settings.db_url, settings.crawl_dir)
    assert report.warnings == ["source 'testsite': yielded no article links (check its discovery URLs and article_patterns)"]
