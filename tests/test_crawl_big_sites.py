"""Crawling sites as big sites serve them: gzipped sitemaps named only in robots.txt, lastmod
compared as dates, a first crawl spread over runs, and sitemaps that are broken or hostile.

Every crawl here is real Scrapy over HTTP against a throwaway site on 127.0.0.1.
"""

from __future__ import annotations

import gzip

import pytest
import sqlalchemy as sa

from policytrends.corpus.store import CorpusStore, documents
from policytrends.crawlers.run import crawl
from tests.hostile_site import SITEMAP_NS, bigsite_sources, numbered_article

pytestmark = pytest.mark.slow


def _urlset(entries: list[tuple[str, str | None]]) -> bytes:
    body = "".join(f"<url><loc>{loc}</loc>{f'<lastmod>{m}</lastmod>' if m else ''}</url>" for loc, m in entries)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {SITEMAP_NS}>{body}</urlset>'.encode()


def _stored(settings) -> list[str]:
    with CorpusStore(settings.db_url).engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(sa.select(documents.c.url)))


def test_a_gzipped_sitemap_named_only_in_robots_txt(settings, make_site, tmp_path):
    routes: dict = {}
    site = make_site(routes)
    b = site.base
    posts = _urlset([(f"{b}/a/post-{i}", f"2024-0{i}-01") for i in range(1, 5)])
    routes.update({
        "/": (200, "text/html", b"<html><body><a href='/about'>About us</a></body></html>"),
        "/robots.txt": (200, "text/plain", f"User-agent: *\nDisallow: /private/\nSitemap: {b}/sitemap_index.xml.gz\n".encode()),
        # A gzipped index served as a binary download, pointing at a child that is gzipped
        # although its name and content type say plain XML.
        "/sitemap_index.xml.gz": (200, "application/octet-stream", gzip.compress(
            f"<sitemapindex {SITEMAP_NS}><sitemap><loc>{b}/sitemaps/posts.xml</loc><lastmod>2024-04-01</lastmod></sitemap>"
            f"</sitemapindex>".encode())),
        "/sitemaps/posts.xml": (200, "text/xml", gzip.compress(posts)),
        **{f"/a/post-{i}": (200, "text/html", numbered_article(i)) for i in range(1, 5)},
    })
    # The source names only its home page: the sitemap is learned from robots.txt.
    report = crawl(bigsite_sources(tmp_path, discovery={"listing": [f"{b}/"]}), settings.db_url, settings.crawl_dir)
    counts = report.sources["bigsite"]
    assert counts["robots_sitemaps"] == 1
    assert counts["documents_new"] == 4 and counts["waiting"] == 0
    assert _stored(settings) == [f"{b}/a/post-{i}" for i in range(1, 5)]
    assert report.warnings == [] and report.notes == []


def test_robots_sitemaps_are_not_read_when_a_sitemap_is_configured_or_turned_off(settings, make_site, tmp_path):
    routes: dict = {}
    site = make_site(routes)
    routes.update({
        "/list": (200, "text/html", b"<a href='/a/listed'>x</a>"),
        "/robots.txt": (200, "text/plain", f"Sitemap: {site.base}/hidden.xml\n".encode()),
        "/hidden.xml": (200, "application/xml", _urlset([(f"{site.base}/a/hidden", None)])),
        "/a/listed": (200, "text/html", numbered_article("listed")),
        "/a/hidden": (200, "text/html", numbered_article("hidden")),
    })
    crawl(bigsite_sources(tmp_path, discovery={"listing": [f"{site.base}/list"]}, robots_sitemaps=False),
          settings.db_url, settings.crawl_dir)
    assert _stored(settings) == [f"{site.base}/a/listed"] and "/hidden.xml" not in site.hits


def test_a_first_crawl_with_a_per_run_cap_resumes_newest_first(settings, make_site, tmp_path):
    routes: dict = {}
    site = make_site(routes)
    # Eight articles, lastmod a day apart (in mixed forms: the dates, not the strings, order them).
    stamps = ["2024-05-08", "2024-05-07T12:00:00+00:00", "2024-05-06T23:30:00-02:00", "2024-05-05T10:00Z",
              "2024-05-04", "2024-05-03T08:00:00.250+01:00", "2024-05-02", "2024-05-01T00:00:00Z"]
    names = [f"n{i}" for i in range(8)]  # n0 newest
    routes["/sitemap.xml"] = (200, "application/xml", _urlset([(f"{site.base}/a/{n}", s) for n, s in zip(names, stamps, strict=True)][::-1]))
    routes.update({f"/a/{n}": (200, "text/html", numbered_article(n)) for n in names})
    sources = bigsite_sources(tmp_path, discovery={"sitemap": [f"{site.base}/sitemap.xml"]}, max_new_articles=3)

    first = crawl(sources, settings.db_url, settings.crawl_dir)
    c = first.sources["bigsite"]
    assert (c["articles_seen"], c["pages_fetched"], c["documents_new"], c["waiting"]) == (8, 3, 3, 5)
    assert first.notes == ["source 'bigsite': 3 fetched, 5 waiting for the next run"]
    assert _stored(settings) == [f"{site.base}/a/{n}" for n in names[:3]]  # the three newest

    second = crawl(sources, settings.db_url, settings.crawl_dir)
    c = second.sources["bigsite"]
    assert (c["pages_fetched"], c["skipped_unchanged_lastmod"], c["documents_new"], c["waiting"]) == (3, 3, 3, 2)
    assert second.notes == ["source 'bigsite': 3 fetched, 2 waiting for the next run"]

    third = crawl(sources, settings.db_url, settings.crawl_dir)
    c = third.sources["bigsite"]
    assert (c["pages_fetched"], c["skipped_unchanged_lastmod"], c["documents_new"], c["waiting"]) == (2, 6, 2, 0)
    assert third.notes == []
    assert _stored(settings) == sorted(f"{site.base}/a/{n}" for n in names)
    # Each article was downloaded once over the three runs: the waiting ones, never the same ones again.
    assert all(site.hits[f"/a/{n}"] == 1 for n in names)


def test_a_time_budget_ends_the_run_and_the_rest_waits(settings, make_site, tmp_path):
    routes: dict = {}
    site = make_site(routes)
    names = [f"t{i:02d}" for i in range(12)]
    routes["/sitemap.xml"] = (200, "application/xml", _urlset([(f"{site.base}/a/{n}", f"2024-06-{i + 1:02d}") for i, n in enumerate(names)]))
    routes.update({f"/a/{n}": (200, "text/html", numbered_article(n)) for n in names})
    # One page at a time, 0.5 s apart: the first batch (8 pages) alone takes longer than the 1 s budget.
    sources = bigsite_sources(tmp_path, discovery={"sitemap": [f"{site.base}/sitemap.xml"]}, time_budget="1s",
                       politeness={"download_delay": 0.5, "concurrency": 1, "timeout": 5})
    c = crawl(sources, settings.db_url, settings.crawl_dir).sources["bigsite"]
    assert (c["pages_fetched"], c["waiting"]) == (8, 4)
    assert _stored(settings) == [f"{site.base}/a/{n}" for n in names[4:]]  # the newest eight


def test_lastmod_is_compared_as_a_date_not_as_text(settings, make_site, tmp_path):
    routes: dict = {}
    site = make_site(routes)
    b = site.base
    routes.update({f"/a/{n}": (200, "text/html", numbered_article(n)) for n in ("same", "later", "earlier")})

    def sitemap(same, later, earlier):
        routes["/sitemap.xml"] = (200, "application/xml", _urlset([(f"{b}/a/same", same), (f"{b}/a/later", later),
                                                                  (f"{b}/a/earlier", earlier)]))

    sources = bigsite_sources(tmp_path, discovery={"sitemap": [f"{b}/sitemap.xml"]})
    sitemap("2024-05-01", "2024-05-01T10:00:00+02:00", "2024-05-01T10:00:00+02:00")
    assert crawl(sources, settings.db_url, settings.crawl_dir).sources["bigsite"]["documents_new"] == 3
    # "same": the same moment written otherwise (as text it sorts after the first form);
    # "later": 09:00Z is an hour after 10:00+02:00 (as text it sorts before it);
    # "earlier": 07:00Z is an hour before it.
    sitemap("2024-05-01T00:00:00+00:00", "2024-05-01T09:00:00Z", "2024-05-01T07:00:00Z")
    c = crawl(sources, settings.db_url, settings.crawl_dir).sources["bigsite"]
    assert c["skipped_unchanged_lastmod"] == 2
    assert site.hits["/a/later"] == 2 and site.hits["/a/same"] == site.hits["/a/earlier"] == 1


def test_since_skips_old_articles_and_old_child_sitemaps_without_fetching_them(settings, make_site, tmp_path):
    routes: dict = {}
    site = make_site(routes)
    b = site.base
    routes.update({
        "/sitemap.xml": (200, "application/xml", (
            f"<sitemapindex {SITEMAP_NS}><sitemap><loc>{b}/sm/2024.xml</loc><lastmod>2024-02-01</lastmod></sitemap>"
            f"<sitemap><loc>{b}/sm/2019.xml</loc><lastmod>2019-12-31T23:00:00Z</lastmod></sitemap></sitemapindex>").encode()),
        "/sm/2024.xml": (200, "application/xml", _urlset([(f"{b}/a/new", "2024-01-15"), (f"{b}/a/old", "2022-06-01"),
                                                          (f"{b}/a/2019/03/dated-in-path", None), (f"{b}/a/undated", None)])),
        "/sm/2019.xml": (200, "application/xml", _urlset([(f"{b}/a/ancient", "2019-05-01")])),
    })
    routes.update({f"/a/{n}": (200, "text/html", numbered_article(n)) for n in ("new", "old", "undated", "ancient")})
    sources = bigsite_sources(tmp_path, discovery={"sitemap": [f"{b}/sitemap.xml"]}, since="2023-01-01",
                       article_patterns=["^/a/"])
    c = crawl(sources, settings.db_url, settings.crawl_dir).sources["bigsite"]
    assert c["sitemaps_skipped_before_since"] == 1 and "/sm/2019.xml" not in site.hits
    assert c["skipped_before_since"] == 2  # by lastmod, and by the date in the URL path
    assert _stored(settings) == [f"{b}/a/new", f"{b}/a/undated"]  # an undated article is fetched to find out
    assert "/a/old" not in site.hits and "/a/2019/03/dated-in-path" not in site.hits


def test_an_undated_link_to_an_article_older_than_since_is_fetched_once_and_not_stored(settings, make_site, tmp_path):
    routes = {"/list": (200, "text/html", b"<a href='/a/recent'>1</a> <a href='/a/old-piece'>2</a>"),
              "/a/recent": (200, "text/html", numbered_article("recent", "2024-02-01")),
              "/a/old-piece": (200, "text/html", numbered_article("old", "2019-02-01"))}
    site = make_site(routes)
    sources = bigsite_sources(tmp_path, discovery={"listing": [f"{site.base}/list"]}, since="2023-01-01")
    c = crawl(sources, settings.db_url, settings.crawl_dir).sources["bigsite"]
    assert (c["pages_fetched"], c["documents_new"], c["skipped_before_since"]) == (2, 1, 1)
    assert _stored(settings) == [f"{site.base}/a/recent"]
    # The next run asks for it conditionally (a 304, no body), as for any article already fetched.
    c = crawl(sources, settings.db_url, settings.crawl_dir).sources["bigsite"]
    assert (c["pages_fetched"], c["not_modified"], c["documents_new"]) == (0, 2, 0)


def test_an_xml_entity_in_a_sitemap_loses_one_entry_and_stores_no_cut_off_url(settings, make_site, tmp_path):
    routes: dict = {}
    site = make_site(routes)
    b = site.base
    routes["/sitemap.xml"] = (200, "application/xml", (
        f'<?xml version="1.0"?>\n<urlset {SITEMAP_NS} xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">'
        f"<url><loc>{b}/a/before</loc></url>"
        f"<url><loc>{b}/a/caf&eacute;-diplomacy</loc></url>"  # an HTML entity XML does not know
        f"<url><loc>{b}/a/after?lang=en&region=eu</loc><image:image><image:loc>{b}/i.png</image:loc></image:image></url>"
        f"<url><loc>{b}/a/last</loc></url></urlset>").encode())
    routes.update({p: (200, "text/html", numbered_article(p)) for p in ("/a/before", "/a/after?lang=en&region=eu", "/a/last",
                                                                 "/a/caf", "/a/caf%C3%A9-diplomacy")})
    report = crawl(bigsite_sources(tmp_path, discovery={"sitemap": [f"{b}/sitemap.xml"]}), settings.db_url, settings.crawl_dir)
    c = report.sources["bigsite"]
    assert c["sitemap_bad_entries"] == 1 and c["documents_new"] == 3
    assert _stored(settings) == [f"{b}/a/after?lang=en&region=eu", f"{b}/a/before", f"{b}/a/last"]
    assert "/a/caf" not in site.hits  # no URL cut off at the entity
    assert any("1 sitemap entries unreadable" in w for w in report.warnings)


def test_broken_and_hostile_sitemaps_are_counted_by_name_and_the_crawl_goes_on(settings, make_site, tmp_path):
    routes: dict = {}
    site = make_site(routes)
    b = site.base
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "ha"}">' for i in range(10))
    children = ["good.xml", "html.xml", "bomb.xml.gz", "laughs.xml", "corrupt.xml.gz"]
    routes.update({
        "/sitemap.xml": (200, "application/xml", (f"<sitemapindex {SITEMAP_NS}>" + "".join(
            f"<sitemap><loc>{b}/sm/{c}</loc></sitemap>" for c in children) + "</sitemapindex>").encode()),
        "/sm/good.xml": (200, "application/xml", _urlset([(f"{b}/a/good", None)])),
        "/sm/html.xml": (200, "text/html", b"<!DOCTYPE html><html><body><h1>Page not found</h1></body></html>"),
        "/sm/bomb.xml.gz": (200, "application/gzip", gzip.compress(b"<urlset>" + b" " * (60 * 1024 * 1024))),
        "/sm/laughs.xml": (200, "application/xml", (
            f'<?xml version="1.0"?><!DOCTYPE urlset [{laughs}]><urlset {SITEMAP_NS}><url><loc>{b}/a/l&l9;</loc></url>'
            f"<url><loc>{b}/a/beside-the-bomb</loc></url></urlset>").encode()),
        "/sm/corrupt.xml.gz": (200, "application/gzip", b"\x1f\x8b\x08\x00garbage"),
        "/a/good": (200, "text/html", numbered_article("good")),
        "/a/beside-the-bomb": (200, "text/html", numbered_article("beside")),
    })
    report = crawl(bigsite_sources(tmp_path, discovery={"sitemap": [f"{b}/sitemap.xml"]}), settings.db_url, settings.crawl_dir)
    c = report.sources["bigsite"]
    assert {k: v for k, v in c.items() if k.startswith("failed/")} == {
        "failed/sitemap_not_xml": 1, "failed/sitemap_gzip_bomb": 1, "failed/sitemap_xml_bomb": 1,
        "failed/sitemap_bad_gzip": 1}
    assert c["sitemap_bad_entries"] == 1  # the entry built on the bomb's entity
    assert _stored(settings) == [f"{b}/a/beside-the-bomb", f"{b}/a/good"]
    assert any("sitemap(s) refused or read in part: sitemap_gzip_bomb" in w for w in report.warnings)
